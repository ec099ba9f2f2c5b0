package checkpoint

import (
	"encoding/binary"
	"fmt"
)

// Pickle opcode argument layouts, as in Python's pickletools.
const (
	argNone  = iota
	argFixed // n bytes
	argLine  // one newline-terminated line
	argLine2 // two lines (GLOBAL, INST)
	argLen   // an n-byte little-endian length, then that many bytes
	argFrame // an 8-byte frame length; the frame's opcodes follow inline
)

type opArg struct {
	kind int
	n    int
}

// pickleOps lists every opcode of protocols 0 to 5.
var pickleOps = func() [256]*opArg {
	var t [256]*opArg
	set := func(ops string, a opArg) {
		for i := 0; i < len(ops); i++ {
			t[ops[i]] = &opArg{a.kind, a.n}
		}
	}
	set("(.012NQRabd}el]ost)u", opArg{argNone, 0})
	set("\x81\x85\x86\x87\x88\x89\x8f\x90\x91\x92\x93\x94\x97\x98", opArg{argNone, 0})
	set("FILPSVgp", opArg{argLine, 0})
	set("ci", opArg{argLine2, 0})
	set("Kh", opArg{argFixed, 1})
	set("\x80\x82q", opArg{argFixed, 1})
	set("M\x83", opArg{argFixed, 2})
	set("Jjr\x84", opArg{argFixed, 4})
	set("G", opArg{argFixed, 8})
	set("UC\x8a\x8c", opArg{argLen, 1})
	set("TXB\x8b", opArg{argLen, 4})
	set("\x8d\x8e\x96", opArg{argLen, 8})
	set("\x95", opArg{argFrame, 8})
	return t
}()

// scanPickle walks the opcode stream without executing it and checks that
// every length fits in the bytes that remain. gopickle allocates a buffer of
// the declared length before reading, so a forged length of gigabytes would
// otherwise exhaust memory (fatally in wasm) instead of failing cleanly.
func scanPickle(p []byte) error {
	i := 0
	need := func(op byte, at, n int) error {
		if n < 0 || n > len(p)-i {
			return fmt.Errorf("pickle opcode 0x%02x at byte %d needs %d bytes, %d remain", op, at, n, len(p)-i)
		}
		return nil
	}
	line := func(op byte, at int) error {
		for ; i < len(p); i++ {
			if p[i] == '\n' {
				i++
				return nil
			}
		}
		return fmt.Errorf("pickle opcode 0x%02x at byte %d: unterminated line", op, at)
	}
	for i < len(p) {
		at, op := i, p[i]
		i++
		a := pickleOps[op]
		if a == nil {
			return fmt.Errorf("unknown pickle opcode 0x%02x at byte %d", op, at)
		}
		switch a.kind {
		case argFixed:
			if err := need(op, at, a.n); err != nil {
				return err
			}
			i += a.n
		case argLine:
			if err := line(op, at); err != nil {
				return err
			}
		case argLine2:
			if err := line(op, at); err != nil {
				return err
			}
			if err := line(op, at); err != nil {
				return err
			}
		case argLen, argFrame:
			if err := need(op, at, a.n); err != nil {
				return err
			}
			var n uint64
			switch a.n {
			case 1:
				n = uint64(p[i])
			case 4:
				n = uint64(binary.LittleEndian.Uint32(p[i:]))
			case 8:
				n = binary.LittleEndian.Uint64(p[i:])
			}
			i += a.n
			if n > uint64(len(p)-i) {
				return fmt.Errorf("pickle opcode 0x%02x at byte %d declares %d bytes, %d remain", op, at, n, len(p)-i)
			}
			if a.kind == argLen {
				i += int(n)
			}
		}
		if op == '.' {
			if i != len(p) {
				return fmt.Errorf("%d bytes after the pickle's STOP at byte %d", len(p)-i, at)
			}
			return nil
		}
	}
	return fmt.Errorf("pickle ends at byte %d without STOP", len(p))
}
