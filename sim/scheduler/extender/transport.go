package extender

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Transport carries one extender call: it sends req (an *extenderv1.ExtenderArgs or
// *extenderv1.ExtenderBindingArgs) for verb and decodes the answer into resp (a pointer to
// the matching result type).
type Transport interface {
	Do(verb string, req any, resp any) error
}

// TransportFunc is a Transport written as a Go function: an in-process extender, or one
// that replays recorded answers.
type TransportFunc func(verb string, req any, resp any) error

// Do calls f.
func (f TransportFunc) Do(verb string, req, resp any) error { return f(verb, req, resp) }

// HTTPTransport is upstream's wire protocol: a JSON POST to URLPrefix/verb, answered with
// 200 and a JSON body.
type HTTPTransport struct {
	URLPrefix string
	Client    *http.Client
}

var _ Transport = (*HTTPTransport)(nil)

// NewHTTPTransport returns an HTTP transport whose calls time out after timeout (0 is
// DefaultHTTPTimeout).
func NewHTTPTransport(urlPrefix string, timeout time.Duration) *HTTPTransport {
	if timeout == 0 {
		timeout = DefaultHTTPTimeout
	}
	return &HTTPTransport{URLPrefix: urlPrefix, Client: &http.Client{
		Transport: http.DefaultTransport.(*http.Transport).Clone(),
		Timeout:   timeout,
	}}
}

// Do posts req as JSON and decodes the answer into resp.
func (t *HTTPTransport) Do(verb string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode %s request: %w", verb, err)
	}
	url := strings.TrimRight(t.URLPrefix, "/") + "/" + verb
	hreq, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hresp, err := t.Client.Do(hreq)
	if err != nil {
		return err
	}
	defer hresp.Body.Close()
	if hresp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, hresp.Body)
		// upstream's wording
		return fmt.Errorf("failed %v with extender at URL %v, code %v", verb, url, hresp.StatusCode)
	}
	if err := json.NewDecoder(hresp.Body).Decode(resp); err != nil {
		return fmt.Errorf("decode %s answer from %s: %w", verb, url, err)
	}
	return nil
}
