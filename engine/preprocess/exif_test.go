package preprocess

import (
	"encoding/binary"
	"testing"
)

// exifJPEG builds the start of a JPEG whose APP1 segment holds a TIFF
// structure with the given byte order and IFD0 entries (tag, type, value).
func exifJPEG(order interface {
	binary.ByteOrder
	binary.AppendByteOrder
}, entries [][3]uint32) []byte {
	tiff := make([]byte, 8)
	if order == binary.LittleEndian {
		copy(tiff, "II")
	} else {
		copy(tiff, "MM")
	}
	order.PutUint16(tiff[2:], 42)
	order.PutUint32(tiff[4:], 8)
	tiff = order.AppendUint16(tiff, uint16(len(entries)))
	for _, e := range entries {
		tiff = order.AppendUint16(tiff, uint16(e[0]))
		tiff = order.AppendUint16(tiff, uint16(e[1]))
		tiff = order.AppendUint32(tiff, 1)
		if e[1] == 3 { // SHORT: left-justified in the value field
			tiff = order.AppendUint16(tiff, uint16(e[2]))
			tiff = append(tiff, 0, 0)
		} else {
			tiff = order.AppendUint32(tiff, e[2])
		}
	}
	tiff = append(tiff, 0, 0, 0, 0) // no next IFD
	seg := append([]byte("Exif\x00\x00"), tiff...)
	out := []byte{0xff, 0xd8, 0xff, 0xe0, 0, 4, 'J', 'F'} // a short APP0 first
	out = append(out, 0xff, 0xe1)
	out = binary.BigEndian.AppendUint16(out, uint16(len(seg)+2))
	out = append(out, seg...)
	return append(out, 0xff, 0xda, 0, 2) // start of scan
}

func TestJPEGOrientation(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	for _, tc := range []struct {
		name string
		data []byte
		want int
	}{
		{"little-endian", exifJPEG(le, [][3]uint32{{0x010f, 2, 0}, {0x0112, 3, 6}}), 6},
		{"big-endian", exifJPEG(be, [][3]uint32{{0x0112, 3, 8}}), 8},
		{"LONG type", exifJPEG(be, [][3]uint32{{0x0112, 4, 3}}), 3},
		{"out of range", exifJPEG(le, [][3]uint32{{0x0112, 3, 9}}), 1},
		{"zero", exifJPEG(le, [][3]uint32{{0x0112, 3, 0}}), 1},
		{"wrong type", exifJPEG(le, [][3]uint32{{0x0112, 2, 6}}), 1},
		{"no tag", exifJPEG(le, [][3]uint32{{0x010f, 2, 0}}), 1},
		{"not a JPEG", []byte("\x89PNG\r\n\x1a\n"), 1},
		{"empty", nil, 1},
		{"SOI only", []byte{0xff, 0xd8}, 1},
		{"segment past the end", []byte{0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff, 'E', 'x'}, 1},
		{"fill bytes", append([]byte{0xff, 0xd8, 0xff, 0xff}, exifJPEG(be, [][3]uint32{{0x0112, 3, 5}})[2:]...), 5},
	} {
		if got := jpegOrientation(tc.data); got != tc.want {
			t.Errorf("%s: orientation %d, want %d", tc.name, got, tc.want)
		}
	}

	// A bad IFD0 offset or a truncated entry list is ignored.
	data := exifJPEG(le, [][3]uint32{{0x0112, 3, 6}})
	tiff := len(data) - 4 - (8 + 2 + 12 + 4) // start of the TIFF header
	bad := append([]byte(nil), data...)
	le.PutUint32(bad[tiff+4:], 0xfffffff0)
	if got := jpegOrientation(bad); got != 1 {
		t.Errorf("bad IFD offset: %d", got)
	}
	bad = append([]byte(nil), data...)
	le.PutUint16(bad[tiff+8:], 1000) // more entries than the segment holds
	if got := jpegOrientation(bad); got != 6 {
		t.Errorf("overlong entry count: %d, want the entry that is there", got)
	}
}

// FuzzOrientation checks that no input makes the EXIF parser panic or
// return anything but 1-8.
func FuzzOrientation(f *testing.F) {
	for o := 1; o <= 8; o++ {
		f.Add(decodeFile(f, "orient_"+string(rune('0'+o))+".jpg"))
	}
	f.Add(exifJPEG(binary.BigEndian, [][3]uint32{{0x0112, 3, 6}}))
	f.Add(exifJPEG(binary.LittleEndian, [][3]uint32{{0x0112, 4, 2}}))
	f.Add([]byte{0xff, 0xd8, 0xff, 0xe1, 0x00, 0x08, 'E', 'x', 'i', 'f', 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if o := jpegOrientation(data); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
	})
}
