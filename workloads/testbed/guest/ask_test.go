//go:build linux

package guest

import (
	"bufio"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeDirector answers on a UNIX socket as the director's admin socket
// does: its handshake, then a host list ended by an empty line, or OK.
func fakeDirector(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "director-admin")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = c.Write([]byte("VERSION\tdirector-doveadm\t1\t0\n"))
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					switch {
					case strings.HasPrefix(line, "HOST-LIST"):
						_, _ = c.Write([]byte("10.0.0.1\t100\t3\t\tU\t0\n10.0.0.2\t100\t0\t\tD\t17\n\n"))
					case strings.HasPrefix(line, "HOST-DOWN\t10.0.0.9"):
						_, _ = c.Write([]byte("NOTFOUND\n"))
					case strings.HasPrefix(line, "HOST-"):
						_, _ = c.Write([]byte("OK\n"))
					}
				}
			}()
		}
	}()
	return path
}

func TestAsk(t *testing.T) {
	sock := fakeDirector(t)
	hello := "VERSION\tdirector-doveadm\t1\t0\n"
	got, err := ask(context.Background(), sock, hello+"HOST-LIST\n", 0, time.Second)
	if err != nil || got != hello+"10.0.0.1\t100\t3\t\tU\t0\n10.0.0.2\t100\t0\t\tD\t17\n" {
		t.Errorf("HOST-LIST: %q, %v", got, err)
	}
	got, err = ask(context.Background(), sock, hello+"HOST-DOWN\t10.0.0.2\n", 2, time.Second)
	if err != nil || lastLine(got) != "OK" {
		t.Errorf("HOST-DOWN: %q, %v", got, err)
	}
	g := &guest{log: &strings.Builder{}}
	g.fault(Fault{Kind: "ask", Socket: sock, Request: hello + "HOST-DOWN\t10.0.0.9\n", Lines: 2, Expect: "OK", Event: "action.director down", Detail: "10.0.0.9"})
	g.fault(Fault{Kind: "ask", Socket: sock, Request: hello + "HOST-UP\t10.0.0.2\n", Lines: 2, Expect: "OK", Event: "action.director up", Detail: "10.0.0.2"})
	g.fault(Fault{Kind: "note", Event: "action.director flush", Detail: "10.0.0.2 (ignored)"})
	var details []string
	for _, e := range g.res.Events {
		details = append(details, e.Kind+": "+e.Detail)
	}
	want := []string{`action.director down: 10.0.0.9: answered "NOTFOUND"`, "action.director up: 10.0.0.2", "action.director flush: 10.0.0.2 (ignored)"}
	if strings.Join(details, "\n") != strings.Join(want, "\n") {
		t.Errorf("events\n%s\nwant\n%s", strings.Join(details, "\n"), strings.Join(want, "\n"))
	}
	if _, err := ask(context.Background(), filepath.Join(t.TempDir(), "none"), "x\n", 1, time.Second); err == nil {
		t.Error("a missing socket answered")
	}
}
