package daemon

import (
	"encoding/json"
	"fmt"

	"github.com/bpfstat/bpfstat/internal/daemonproto"
)

func encodeHeader(h daemonproto.Header) ([]byte, error) {
	b, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("encoding reply header: %w", err)
	}
	return b, nil
}
