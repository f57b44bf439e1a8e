package main

// The null bot of the floor mode (floor.go): the least code that makes an
// update's network exchanges, run as a child process so its CPU time is
// its own.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

type floorCounts struct {
	Updates    int64 `json:"updates"`
	RoundTrips int64 `json:"round_trips"`
}

// runNullBot is the null bot: the child process of the floor mode.
func runNullBot(ctx context.Context, getenv func(string) string) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	opt, err := redis.ParseURL(getenv("FLOOR_REDIS"))
	if err != nil {
		return err
	}
	opt.PoolSize = 64
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	key := fmt.Sprintf("bridgeload:floor:%d:", os.Getpid())
	defer rdb.Del(context.Background(), key+"turns")
	// The save: one script call that writes the session and queues the turn.
	save := redis.NewScript(`redis.call('SET', KEYS[1], ARGV[1], 'EX', 3600)
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('LTRIM', KEYS[2], -100, -1)
return 1`)
	session := strings.Repeat("s", 600) // about a session's size, sealed
	tg := &rawClient{addr: getenv("FLOOR_TELEGRAM"), path: "/bot0:floor/", idle: make(chan *rawConn, 256)}
	var updates, roundTrips atomic.Int64
	handle := func(u nullUpdate) error {
		chat, ok := u.chat()
		if !ok {
			return fmt.Errorf("update %d without a chat", u.ID)
		}
		cs := strconv.FormatInt(chat, 10)
		roundTrips.Add(1)
		if err := save.Run(ctx, rdb, []string{key + "s:" + cs, key + "turns"}, session, cs).Err(); err != nil {
			return err
		}
		if q := u.CallbackQuery; q != nil {
			if err := tg.call("answerCallbackQuery", url.Values{"callback_query_id": {q.ID}}); err != nil {
				return err
			}
			if err := tg.call("editMessageReplyMarkup", url.Values{"chat_id": {cs}, "message_id": {strconv.Itoa(q.Message.MessageID)},
				"reply_markup": {`{"inline_keyboard":[[{"text":"✓ Organizer","callback_data":"f|x"}]]}`}}); err != nil {
				return err
			}
			if q.Data == "toggle" {
				return nil
			}
		}
		return tg.call("sendMessage", url.Values{"chat_id": {cs}, "parse_mode": {"HTML"},
			"text":         {"Which of these describes you best? You can change it later."},
			"reply_markup": {`{"inline_keyboard":[[{"text":"Organizer","callback_data":"f|role|0"}],[{"text":"Popular educator","callback_data":"f|role|1"}]]}`}})
	}
	offset := 0
	for ctx.Err() == nil {
		var batch struct {
			OK     bool         `json:"ok"`
			Result []nullUpdate `json:"result"`
		}
		body, err := tg.do("getUpdates", url.Values{"offset": {strconv.Itoa(offset)}, "timeout": {"25"}})
		if err == nil {
			err = json.Unmarshal(body, &batch)
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return fmt.Errorf("getUpdates: %w", err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, len(batch.Result))
		for _, u := range batch.Result {
			offset = max(offset, u.ID+1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := handle(u); err != nil {
					errs <- err
					return
				}
				updates.Add(1)
			}()
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return err
		}
	}
	b, _ := json.Marshal(floorCounts{Updates: updates.Load(), RoundTrips: roundTrips.Load()})
	return os.WriteFile(getenv("FLOOR_COUNTS"), b, 0o600)
}

type nullUpdate struct {
	ID      int `json:"update_id"`
	Message *struct {
		Chat struct {
			ID int64 `json:"id"`
		} `json:"chat"`
		Text string `json:"text"`
	} `json:"message"`
	CallbackQuery *struct {
		ID      string `json:"id"`
		Data    string `json:"data"`
		Message struct {
			MessageID int `json:"message_id"`
			Chat      struct {
				ID int64 `json:"id"`
			} `json:"chat"`
		} `json:"message"`
	} `json:"callback_query"`
}

func (u nullUpdate) chat() (int64, bool) {
	switch {
	case u.Message != nil:
		return u.Message.Chat.ID, true
	case u.CallbackQuery != nil:
		return u.CallbackQuery.Message.Chat.ID, true
	}
	return 0, false
}

// rawClient speaks HTTP/1.1 by hand over kept-alive connections: the least
// a Bot API call can cost in a Go process.
type rawClient struct {
	addr, path string
	idle       chan *rawConn
}

type rawConn struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

func (c *rawClient) call(method string, params url.Values) error {
	body, err := c.do(method, params)
	if err != nil {
		return err
	}
	var res struct {
		OK          bool   `json:"ok"`
		Description string `json:"description"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return err
	}
	if !res.OK {
		return fmt.Errorf("%s: %s", method, res.Description)
	}
	return nil
}

func (c *rawClient) do(method string, params url.Values) ([]byte, error) {
	var conn *rawConn
	select {
	case conn = <-c.idle:
	default:
		nc, err := net.Dial("tcp", c.addr)
		if err != nil {
			return nil, err
		}
		conn = &rawConn{c: nc, r: bufio.NewReader(nc), w: bufio.NewWriter(nc)}
	}
	form := params.Encode()
	fmt.Fprintf(conn.w, "POST %s%s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n", c.path, method, c.addr, len(form))
	conn.w.WriteString(form)
	if err := conn.w.Flush(); err != nil {
		conn.c.Close()
		return nil, err
	}
	length := -1
	for first := true; ; first = false {
		line, err := conn.r.ReadSlice('\n')
		if err != nil {
			conn.c.Close()
			return nil, err
		}
		if first {
			if !bytes.HasPrefix(line, []byte("HTTP/1.1 200")) {
				conn.c.Close()
				return nil, fmt.Errorf("%s: %s", method, bytes.TrimSpace(line))
			}
			continue
		}
		if len(line) <= 2 {
			break
		}
		if name, v, ok := bytes.Cut(line, []byte(":")); ok && strings.EqualFold(string(name), "Content-Length") {
			length, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	if length < 0 {
		conn.c.Close()
		return nil, fmt.Errorf("%s: no Content-Length", method)
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(conn.r, body); err != nil {
		conn.c.Close()
		return nil, err
	}
	select {
	case c.idle <- conn:
	default:
		conn.c.Close()
	}
	return body, nil
}
