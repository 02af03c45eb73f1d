package daemonproto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// A rendered listing's frame is a sequence of segments, in the order the
// renderer wrote them, so a terminal sees stdout and stderr interleaved as
// netstat interleaves them:
//
//	stream u8 (1 stdout, 2 stderr), length uvarint, bytes.

// Output streams.
const (
	Stdout = 1
	Stderr = 2
)

// maxSegment bounds one segment, against a hostile length.
const maxSegment = MaxResponse

// AppendOutput appends one segment of stream (Stdout or Stderr) to b.
func AppendOutput(b []byte, stream byte, p []byte) []byte {
	b = append(b, stream)
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// WriteOutput writes every segment of a rendered frame to stdout or
// stderr. A malformed frame yields an error before anything is written.
func WriteOutput(b []byte, stdout, stderr io.Writer) error {
	if err := walkOutput(b, func(byte, []byte) error { return nil }); err != nil {
		return err
	}
	return walkOutput(b, func(stream byte, p []byte) error {
		w := stdout
		if stream == Stderr {
			w = stderr
		}
		_, err := w.Write(p)
		return err
	})
}

var errBadSegment = errors.New("malformed output segment")

func walkOutput(b []byte, fn func(stream byte, p []byte) error) error {
	for len(b) > 0 {
		stream := b[0]
		if stream != Stdout && stream != Stderr {
			return fmt.Errorf("decoding output: stream %d: %w", stream, errBadSegment)
		}
		n, l := binary.Uvarint(b[1:])
		if l <= 0 || n > maxSegment || n > uint64(len(b)-1-l) {
			return fmt.Errorf("decoding output: %w", errBadSegment)
		}
		p := b[1+l : 1+l+int(n)]
		b = b[1+l+int(n):]
		if err := fn(stream, p); err != nil {
			return fmt.Errorf("writing output: %w", err)
		}
	}
	return nil
}

// OutputWriter collects a renderer's writes to one stream as segments of
// a shared frame.
type OutputWriter struct {
	Frame  *[]byte
	Stream byte
}

func (w OutputWriter) Write(p []byte) (int, error) {
	if len(p) > 0 {
		*w.Frame = AppendOutput(*w.Frame, w.Stream, p)
	}
	return len(p), nil
}
