package blob_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"tally/telemetry/blob"
	"tally/telemetry/fressian"
	"tally/telemetry/fressian/fresstest"
	"tally/telemetry/value"
)

func TestEncodeLayout(t *testing.T) {
	payload := []byte("fressian bytes")
	b := blob.Encode(payload)
	if got, want := binary.BigEndian.Uint16(b), uint16(4); got != want {
		t.Errorf("version = %d, want %d", got, want)
	}
	if got, want := binary.BigEndian.Uint32(b[2:]), uint32(len(payload)); got != want {
		t.Errorf("length = %d, want %d", got, want)
	}
	if got, want := b[6:10], []byte{0x28, 0xB5, 0x2F, 0xFD}; !bytes.Equal(got, want) {
		t.Errorf("zstd magic = % x, want % x", got, want)
	}
	back, err := blob.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(back), string(payload); got != want {
		t.Errorf("Decode = %q, want %q", got, want)
	}
}

func TestStringForm(t *testing.T) {
	payload := bytes.Repeat([]byte{0xFB, 0xFF, 0xBF}, 100)
	s := blob.EncodeString(payload)
	if strings.ContainsAny(s, "+/=") {
		t.Errorf("string form %q is not URL-safe unpadded base64", s)
	}
	if got, want := string(blob.AppendString([]byte(`"`), payload)), `"`+s; got != want {
		t.Errorf("AppendString = %q, want %q", got, want)
	}
	for _, in := range []string{s, s + strings.Repeat("=", (4-len(s)%4)%4)} {
		back, err := blob.DecodeString(in)
		if err != nil {
			t.Fatalf("DecodeString(%q): %v", in, err)
		}
		if !bytes.Equal(back, payload) {
			t.Errorf("DecodeString round trip differs")
		}
	}
}

func TestValueRoundTrip(t *testing.T) {
	page := fresstest.Page(100)
	s, err := blob.EncodeValue(page)
	if err != nil {
		t.Fatal(err)
	}
	v, err := blob.DecodeValue(s)
	if err != nil {
		t.Fatal(err)
	}
	if !value.Equal(v, page) {
		t.Errorf("DecodeValue(EncodeValue(page)) differs")
	}
	if _, err := blob.EncodeValue(42); err == nil {
		t.Errorf("EncodeValue(int) succeeded, want an error")
	}
}

// TestGoldenBlobs decodes the blobs zstd-jni wrote through Penpot's
// encode-v4 and checks their payload against the raw fressian.
func TestGoldenBlobs(t *testing.T) {
	for _, f := range fresstest.Fixtures(t) {
		payload, err := blob.DecodeString(f.Blob)
		if err != nil {
			t.Errorf("%s: %v", f.Name, err)
			continue
		}
		if f.Fress != nil && !bytes.Equal(payload, f.Fress) {
			t.Errorf("%s: blob payload differs from the .fress file", f.Name)
		}
	}
}

func header(version uint16, n int32) []byte {
	b := binary.BigEndian.AppendUint16(nil, version)
	return binary.BigEndian.AppendUint32(b, uint32(n))
}

func zstdFrame(t *testing.T, payload []byte) []byte {
	t.Helper()
	e, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	return e.EncodeAll(payload, nil)
}

func TestDecodeErrors(t *testing.T) {
	payload := []byte("0123456789")
	frame := zstdFrame(t, payload)
	// A streamed frame does not declare its size: only the cap on the
	// output stops it.
	var bomb bytes.Buffer
	zw, err := zstd.NewWriter(&bomb)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(bytes.Repeat([]byte{'x'}, 1<<22))
	zw.Close()
	var h zstd.Header
	if err := h.Decode(bomb.Bytes()); err != nil || h.HasFCS {
		t.Fatalf("streamed frame header: %+v, %v", h, err)
	}
	for _, tt := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, blob.ErrShort},
		{"short header", []byte{0, 4, 0}, blob.ErrShort},
		{"version 5", append(header(5, 10), frame...), blob.ErrVersion},
		{"version 1", append(header(1, 10), frame...), blob.ErrVersion},
		{"negative length", append(header(4, -1), frame...), blob.ErrTooLarge},
		{"over the limit", append(header(4, blob.DefaultMaxSize+1), frame...), blob.ErrTooLarge},
		{"length too small", append(header(4, 9), frame...), blob.ErrLength},
		{"length too large", append(header(4, 11), frame...), blob.ErrLength},
		{"not zstd", append(header(4, 10), payload...), nil},
		{"truncated frame", append(header(4, 10), frame[:len(frame)-3]...), nil},
		{"bomb below declared size", append(header(4, 1000), bomb.Bytes()...), blob.ErrLength},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := blob.Decode(tt.b)
			if err == nil {
				t.Fatalf("Decode = %d bytes, want an error", len(out))
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Decode error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDecoderMaxSize(t *testing.T) {
	payload := bytes.Repeat([]byte("abc"), 1000)
	b := blob.Encode(payload)
	small := blob.NewDecoder(1000)
	if got, want := small.MaxSize(), 1000; got != want {
		t.Errorf("MaxSize = %d, want %d", got, want)
	}
	if _, err := small.Decode(b); !errors.Is(err, blob.ErrTooLarge) {
		t.Errorf("Decode with MaxSize 1000 of 3000 bytes: %v, want ErrTooLarge", err)
	}
	if _, err := small.DecodeString(base64.RawURLEncoding.EncodeToString(make([]byte, 4000))); !errors.Is(err, blob.ErrTooLarge) {
		t.Errorf("DecodeString of an oversized string: %v, want ErrTooLarge", err)
	}
	if got, err := blob.NewDecoder(3000).Decode(b); err != nil || !bytes.Equal(got, payload) {
		t.Errorf("Decode with MaxSize 3000: %v", err)
	}
	if got, want := blob.NewDecoder(0).MaxSize(), blob.DefaultMaxSize; got != want {
		t.Errorf("NewDecoder(0).MaxSize = %d, want %d", got, want)
	}
}

func TestDecodeStringErrors(t *testing.T) {
	for _, s := range []string{"!!!!", "AAQ", "AAQAAAAK*"} {
		if _, err := blob.DecodeString(s); err == nil {
			t.Errorf("DecodeString(%q) succeeded", s)
		}
	}
	if _, err := blob.DecodeValue(blob.EncodeString([]byte{0xF4})); err == nil {
		t.Errorf("DecodeValue of invalid fressian succeeded")
	}
}

func TestConcurrentUse(t *testing.T) {
	page, err := fressian.Marshal(fresstest.Page(200))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	for range 8 {
		go func() {
			for range 20 {
				back, err := blob.DecodeString(blob.EncodeString(page))
				if err == nil && !bytes.Equal(back, page) {
					err = errors.New("round trip differs")
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
