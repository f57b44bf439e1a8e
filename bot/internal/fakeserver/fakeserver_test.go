package fakeserver

import (
	"bytes"
	"errors"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAwaitSeesAChangeMadeWhileWaiting(t *testing.T) {
	c := NewChanges("fake")
	var mu sync.Mutex
	items := []int{}
	go func() { // before, during or after the waiter's first check
		mu.Lock()
		items = append(items, 7)
		mu.Unlock()
		c.Notify()
	}()
	got, ok := AwaitFirst(c, 10*time.Second, func() []int {
		mu.Lock()
		defer mu.Unlock()
		return append([]int(nil), items...)
	}, func(v int) bool { return v == 7 })
	if !ok || got != 7 {
		t.Fatalf("AwaitFirst = %d, %v; want 7, true", got, ok)
	}
}

func TestAwaitTimesOut(t *testing.T) {
	c := NewChanges("fake")
	if c.Await(time.Millisecond, func() bool { return false }) {
		t.Fatal("Await of a condition that never holds reported true")
	}
	if _, ok := AwaitFirst(c, time.Millisecond, func() []string { return []string{"a"} }, func(string) bool { return false }); ok {
		t.Fatal("AwaitFirst with no match reported a match")
	}
}

type fatalRecorder struct {
	msg string
}

func (*fatalRecorder) Helper()                             {}
func (r *fatalRecorder) Fatalf(format string, args ...any) { r.msg = format }

func TestWaitForFailsWithTheFakesName(t *testing.T) {
	var r fatalRecorder
	NewChanges("telegramtest").WaitFor(&r, time.Millisecond, func() bool { return false })
	if !strings.HasPrefix(r.msg, "%s: condition not met") {
		t.Fatalf("WaitFor failed with %q", r.msg)
	}
}

func TestFaultsQueueInOrderAndByMethod(t *testing.T) {
	var fs Faults[string]
	fs.Add("send", 2, "first")
	fs.Add("send", 1, "second")
	fs.Add("*", 1, "any")
	var got []string
	for {
		f, ok := fs.Take("send", "*")
		if !ok {
			break
		}
		got = append(got, f)
	}
	if strings.Join(got, ",") != "first,first,second,any" {
		t.Fatalf("faults taken in order %v", got)
	}
	fs.Add("send", 1, "x")
	fs.Clear()
	if _, ok := fs.Take("send"); ok {
		t.Fatal("a fault survived Clear")
	}
}

func TestListenServesAndOutageAnswersWithItsPage(t *testing.T) {
	o := Outage{Status: http.StatusBadGateway, Page: []byte("<html>down</html>")}
	srv, err := Listen(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o.Down() {
			o.WritePage(w)
			return
		}
		Write(w, http.StatusOK, "application/json", []byte(`{"ok":true}`))
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	get := func() (int, string, string) {
		resp, err := Client(srv).Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	if st, ct, body := get(); st != 200 || ct != "application/json" || body != `{"ok":true}` {
		t.Fatalf("up: %d %q %q", st, ct, body)
	}
	o.SetDown(true) // no request is in flight
	if st, ct, body := get(); st != 502 || !strings.HasPrefix(ct, "text/html") || body != "<html>down</html>" {
		t.Fatalf("down: %d %q %q", st, ct, body)
	}
	if Client(srv).Timeout != ClientTimeout {
		t.Fatal("Client has no timeout")
	}
}

func TestDropConnectionClosesWithoutAnAnswer(t *testing.T) {
	srv, err := Listen(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { DropConnection(w) }))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if resp, err := Client(srv).Get(srv.URL); err == nil {
		resp.Body.Close()
		t.Fatal("a dropped connection answered")
	}
}

func TestRecoverReportsAPanicAndAnswersFailed(t *testing.T) {
	var logged bytes.Buffer
	r := Standalone{Log: log.New(&logged, "", 0)}
	failed := errors.New("internal")
	res, err := Recover(r, "fake: method", func() (int, error) { panic("boom") }, failed)
	if res != 0 || err != failed {
		t.Fatalf("Recover = %d, %v", res, err)
	}
	if !strings.Contains(logged.String(), "fake: method panicked: boom") {
		t.Fatalf("logged %q", logged.String())
	}
	if res, err := Recover(r, "fake: method", func() (int, error) { return 3, nil }, failed); res != 3 || err != nil {
		t.Fatalf("Recover without a panic = %d, %v", res, err)
	}
}

func TestStandaloneFatalfPanics(t *testing.T) {
	defer func() {
		if p := recover(); p != "fake: bad id 0" {
			t.Fatalf("recovered %v", p)
		}
	}()
	Standalone{}.Fatalf("fake: bad id %d", 0)
}

func TestCloneValuesDoesNotAlias(t *testing.T) {
	v := map[string][]string{"a": {"1"}}
	c := CloneValues(v)
	c["a"][0] = "2"
	if v["a"][0] != "1" {
		t.Fatal("CloneValues aliases the slices")
	}
	if CloneValues(nil) != nil {
		t.Fatal("CloneValues(nil) is not nil")
	}
}

type closer struct{ closed *bool }

func (c closer) Close() { *c.closed = true }

func TestForTestClosesAtCleanupAndReportsToTheTest(t *testing.T) {
	closed := false
	t.Run("inner", func(t *testing.T) {
		ForTest(t, "fake", func(r Reporter) (closer, error) {
			if r != Reporter(t) {
				t.Error("the server does not report to its test")
			}
			return closer{&closed}, nil
		})
		if closed {
			t.Error("closed before the test ended")
		}
	})
	if !closed {
		t.Fatal("not closed at the test's cleanup")
	}
}

func TestMapAndLocked(t *testing.T) {
	if got := Map([]int(nil), func(int) string { return "" }); got != nil {
		t.Fatalf("Map(nil) = %v", got)
	}
	got := Map([]int{1, 2}, func(i int) int { return i * 10 })
	if len(got) != 2 || got[0] != 10 || got[1] != 20 {
		t.Fatalf("Map = %v", got)
	}
	var mu sync.Mutex
	if Locked(&mu, func() bool { return !mu.TryLock() }) != true {
		t.Fatal("Locked ran f without the lock")
	}
	if !mu.TryLock() {
		t.Fatal("Locked did not release the lock")
	}
}
