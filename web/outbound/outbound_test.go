package outbound

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Addresses outside loopback are refused before any packet leaves: the
// check runs in the dialer's Control, before connect(2).
func TestClient_RefusesPrivateAddressesByDefault(t *testing.T) {
	c := New(Config{Timeout: 2 * time.Second})
	for _, target := range []string{
		"http://127.0.0.1:9/",
		"http://10.1.2.3/",
		"http://172.16.0.1/",
		"http://192.168.1.1/",
		"http://169.254.169.254/latest/meta-data/",
		"http://[::1]:9/",
		"http://[fe80::1]/",
		"http://[::ffff:127.0.0.1]:9/",
		"http://0.0.0.0:9/",
		// A name resolved by DNS to loopback is refused like the address.
		"http://localhost:9/",
	} {
		_, err := c.Get(context.Background(), target, 0)
		var refused *RefusedError
		if !errors.As(err, &refused) || !errors.Is(err, ErrRefused) {
			t.Errorf("GET %s: err = %v, want a refusal", target, err)
		}
	}
}

func TestClient_AllowedRangeReachesTheServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	defer srv.Close()
	if _, err := New(Config{}).Get(context.Background(), srv.URL, 0); !errors.Is(err, ErrRefused) {
		t.Fatalf("without --outbound-allow: err = %v, want refused", err)
	}
	allow, err := ParseAllow(" 127.0.0.0/8 , ::1")
	if err != nil || len(allow) != 2 {
		t.Fatalf("ParseAllow: %v %v", allow, err)
	}
	resp, err := New(Config{Allow: allow}).Get(context.Background(), srv.URL, 0)
	if err != nil {
		t.Fatalf("allowed loopback: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello" {
		t.Errorf("body = %q", body)
	}
	// The name resolves to loopback too, and is allowed with it.
	u := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	if resp, err := New(Config{Allow: allow}).Get(context.Background(), u, 0); err != nil {
		t.Errorf("allowed localhost: %v", err)
	} else {
		resp.Body.Close()
	}
}

func TestClient_RedirectToARefusedAddressFails(t *testing.T) {
	// Allowed: this one server's address. Its redirect points to another
	// loopback address that is not allowed.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/start" {
			http.Redirect(w, r, "http://127.0.0.2:"+strconv.Itoa(port)+"/end", http.StatusFound)
			return
		}
		io.WriteString(w, "end")
	}))
	srv.Listener = l
	srv.Start()
	defer srv.Close()
	c := New(Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	_, err = c.Get(context.Background(), srv.URL+"/start", 0)
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("redirect to 127.0.0.2: err = %v, want refused", err)
	}
}

func TestClient_CapsBodyAndTime(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			// No Content-Length: the cap must hold while reading.
			w.(http.Flusher).Flush()
			io.WriteString(w, strings.Repeat("x", 4096))
		case "/exact":
			io.WriteString(w, strings.Repeat("x", 1024))
		case "/slow":
			time.Sleep(500 * time.Millisecond)
		}
	}))
	defer srv.Close()
	allow := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	c := New(Config{Allow: allow, Timeout: 200 * time.Millisecond, MaxBodyBytes: 1024})

	resp, err := c.Get(context.Background(), srv.URL+"/big", 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("4 KiB answer with a 1 KiB cap: err = %v", err)
	}
	resp, err = c.Get(context.Background(), srv.URL+"/exact", 0)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || len(body) != 1024 {
		t.Errorf("1 KiB answer with a 1 KiB cap: %d bytes, err %v", len(body), err)
	}
	if _, err := c.Get(context.Background(), srv.URL+"/slow", 0); err == nil {
		t.Error("an answer slower than the timeout arrived")
	}
}

func TestParseAllow_RefusesNonsense(t *testing.T) {
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0/8"} {
		if _, err := ParseAllow(bad); err == nil {
			t.Errorf("ParseAllow(%q): no error", bad)
		}
	}
}
