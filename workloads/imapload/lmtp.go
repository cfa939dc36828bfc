package imapload

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/mailsim/mailsim/workloads"
)

// rcptAddr returns the LMTP recipient of user.
func rcptAddr(user, domain string) string {
	if domain == "" || strings.Contains(user, "@") {
		return user
	}
	return user + "@" + domain
}

// lmtpKind classifies a delivery's error.
func lmtpKind(err error) string {
	var te *timeoutError
	if errors.As(err, &te) {
		return KindTimeout
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		switch {
		case se.Code >= 500:
			return Kind5xx
		case se.Code >= 400:
			return Kind4xx
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return KindTimeout
	}
	return KindConnection
}

// deliver makes the LMTP delivery of op.
func (r *runner) deliver(ctx context.Context, op workloads.TraceOp) {
	start := r.since()
	to := rcptAddr(op.User, r.cfg.Domain)
	stage, end, err := r.sendLMTP(ctx, to, r.message(to, op.Bytes))
	if ctx.Err() != nil {
		return
	}
	kind, detail := "", ""
	if err != nil {
		kind, detail = lmtpKind(err), stage+": "+err.Error()
	}
	r.rec.delivery(to, start, end, kind, detail)
}

// sendLMTP delivers msg to rcpt and returns, on failure, the stage that
// failed; end is when the answer to DATA (or the failure) came.
func (r *runner) sendLMTP(ctx context.Context, rcpt string, msg []byte) (stage string, end time.Duration, err error) {
	d := net.Dialer{Timeout: r.cfg.Timeout}
	nc, err := d.DialContext(ctx, "tcp", r.cfg.LMTP)
	if err != nil {
		return "connect", r.since(), err
	}
	var fired atomic.Bool
	t := time.AfterFunc(r.cfg.Timeout, func() {
		fired.Store(true)
		nc.Close()
	})
	defer t.Stop()
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	c := smtp.NewClientLMTP(nc)
	c.CommandTimeout, c.SubmissionTimeout = r.cfg.Timeout, r.cfg.Timeout
	defer c.Close()

	stage, err = transaction(c, r.from(), rcpt, msg)
	end = r.since()
	if err != nil {
		if fired.Load() {
			err = &timeoutError{after: r.cfg.Timeout, err: err}
		}
		return stage, end, err
	}
	c.Quit()
	return "", end, nil
}

// transaction sends one message to one recipient.
func transaction(c *smtp.Client, from, rcpt string, msg []byte) (string, error) {
	if err := c.Hello("imapload"); err != nil {
		return "LHLO", err
	}
	if err := c.Mail(from, nil); err != nil {
		return "MAIL FROM", err
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		return "RCPT TO", err
	}
	w, err := c.Data()
	if err != nil {
		return "DATA", err
	}
	if _, err := w.Write(msg); err != nil {
		return "DATA", err
	}
	if err := w.Close(); err != nil {
		return "DATA", err
	}
	return "", nil
}
