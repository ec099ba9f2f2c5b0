// softmax: probabilities from logits in one workgroup, subtracting the
// largest logit first so that exp cannot overflow.
//
// The Go side (shaders.go) prepends WORKGROUP, the threads of the
// workgroup, a power of two. Logits and probabilities are always f32.

struct Softmax {
  count: u32,  // logits; the buffers may be longer (padded)
}

@group(0) @binding(0) var<uniform> softmax: Softmax;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> probs: array<f32>;

var<workgroup> partial: array<f32, WORKGROUP>;

// Below every finite f32: where the search for the largest logit starts.
const LOWEST = -3.4028234663852886e38;

// reduce_max leaves the largest of partial[] in partial[0].
fn reduce_max(thread: u32) {
  for (var span = WORKGROUP / 2u; span > 0u; span /= 2u) {
    workgroupBarrier();
    if (thread < span) {
      partial[thread] = max(partial[thread], partial[thread + span]);
    }
  }
  workgroupBarrier();
}

// reduce_sum leaves the sum of partial[] in partial[0].
fn reduce_sum(thread: u32) {
  for (var span = WORKGROUP / 2u; span > 0u; span /= 2u) {
    workgroupBarrier();
    if (thread < span) {
      partial[thread] += partial[thread + span];
    }
  }
  workgroupBarrier();
}

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(local_invocation_index) thread: u32) {
  var largest = LOWEST;
  for (var i = thread; i < softmax.count; i += WORKGROUP) {
    largest = max(largest, logits[i]);
  }
  partial[thread] = largest;
  reduce_max(thread);
  largest = partial[0];
  workgroupBarrier(); // everyone has read partial[0] before it is reused

  var sum = 0.0;
  for (var i = thread; i < softmax.count; i += WORKGROUP) {
    sum += exp(logits[i] - largest);
  }
  partial[thread] = sum;
  reduce_sum(thread);
  sum = partial[0];
  for (var i = thread; i < softmax.count; i += WORKGROUP) {
    probs[i] = exp(logits[i] - largest) / sum;
  }
}
