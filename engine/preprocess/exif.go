package preprocess

import "encoding/binary"

// EXIF orientation, hand-written rather than taken from a library: only
// one tag of IFD0 is needed, and the candidates are either unmaintained
// (github.com/rwcarlsen/goexif: no release, last change 2019) or bring a
// tree of dependencies into the WebAssembly binary
// (github.com/dsoprea/go-exif/v3: logging, errors and YAML packages) to
// parse all of EXIF. The parser below is bounds-checked at every read and
// fuzzed by FuzzOrientation.

// jpegOrientation returns the EXIF orientation (1-8) of a JPEG file, or 1
// when it has none or it cannot be read. Like PIL, it uses the first APP1
// segment that starts with "Exif\0\0".
func jpegOrientation(data []byte) int {
	if len(data) < 2 || data[0] != 0xff || data[1] != 0xd8 {
		return 1
	}
	p := 2
	for p+4 <= len(data) {
		if data[p] != 0xff {
			return 1 // not a marker: corrupt header
		}
		marker := data[p+1]
		switch {
		case marker == 0xff: // fill byte before a marker
			p++
			continue
		case marker == 0x01 || (marker >= 0xd0 && marker <= 0xd8):
			p += 2 // markers without a length
			continue
		case marker == 0xda || marker == 0xd9:
			return 1 // start of scan or end of image: no EXIF before it
		}
		n := int(binary.BigEndian.Uint16(data[p+2:])) // includes its 2 bytes
		if n < 2 || p+2+n > len(data) {
			return 1
		}
		seg := data[p+4 : p+2+n]
		if marker == 0xe1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			if o := tiffOrientation(seg[6:]); o != 0 {
				return o
			}
			return 1
		}
		p += 2 + n
	}
	return 1
}

// tiffOrientation reads tag 0x0112 of IFD0 of the TIFF structure t (the
// payload of an EXIF segment) and returns it if it is 1-8, else 0.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0
	}
	off := uint64(bo.Uint32(t[4:]))
	if off+2 > uint64(len(t)) {
		return 0
	}
	count := int(bo.Uint16(t[off:]))
	entries := t[off+2:]
	for i := 0; i < count && 12*i+12 <= len(entries); i++ {
		e := entries[12*i : 12*i+12]
		if bo.Uint16(e) != 0x0112 {
			continue
		}
		// tag(2) type(2) count(4) value(4); a SHORT's value is in the
		// first 2 bytes of the value field, a LONG's in all 4 (seen from
		// some writers).
		var v uint32
		switch bo.Uint16(e[2:]) {
		case 3: // SHORT
			v = uint32(bo.Uint16(e[8:]))
		case 4: // LONG
			v = bo.Uint32(e[8:])
		default:
			return 0
		}
		if bo.Uint32(e[4:]) < 1 || v < 1 || v > 8 {
			return 0
		}
		return int(v)
	}
	return 0
}
