package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"bridgebot/bot"
	"bridgebot/bot/audit"
	"bridgebot/bot/redisstore"
	"bridgebot/bot/slack"
	"bridgebot/flows"
)

func runExport(ctx context.Context, c config, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "signups" {
		fmt.Fprintln(stderr, "usage: bridgebot export signups --format csv|json")
		return errUsage
	}
	fset := flag.NewFlagSet("export signups", flag.ContinueOnError)
	fset.SetOutput(stderr)
	format := fset.String("format", "csv", "csv or json")
	if err := fset.Parse(args[1:]); err != nil {
		return errUsage
	}
	if *format != "csv" && *format != "json" {
		fmt.Fprintf(stderr, "unknown format %q: want csv or json\n", *format)
		return errUsage
	}
	ct, log, client, closeRedis, err := cliSetup(ctx, c, stderr)
	if err != nil {
		return err
	}
	defer closeRedis()
	ring, err := c.Keys.keyring(log, false)
	if err != nil {
		return fmt.Errorf("export decrypts the sign-ups: %w", err)
	}
	store := c.store(client, ring, log)
	cols := exportColumns(ct.flows[flows.SignupFlow])
	w := bufio.NewWriter(stdout)
	var ex exporter = &csvExporter{w: csv.NewWriter(w), cols: cols}
	if *format == "json" {
		ex = &jsonExporter{w: w, cols: cols}
	}
	if err := ex.begin(); err != nil {
		return err
	}
	rows := int64(0)
	if err := store.Signups(ctx, func(s *bot.Signup) error { rows++; return ex.row(s) }); err != nil {
		return fmt.Errorf("export signups: %w", err)
	}
	if err := ex.end(); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return audit.New(client, c.RedisPrefix).Record(ctx, audit.Entry{Action: audit.ActionExport, Actor: cliActor(), Count: rows, Detail: "signups " + *format})
}

// signupsCSV is the CSV export for "/bridge export" in Slack: the same
// columns and cells as `bridgebot export signups --format csv`.
func signupsCSV(store *redisstore.Store, f *flows.Flow) slack.WriteSignups {
	cols := exportColumns(f)
	return func(ctx context.Context, w io.Writer) (int64, error) {
		ex := &csvExporter{w: csv.NewWriter(w), cols: cols}
		if err := ex.begin(); err != nil {
			return 0, fmt.Errorf("export: %w", err)
		}
		rows := int64(0)
		if err := store.Signups(ctx, func(s *bot.Signup) error { rows++; return ex.row(s) }); err != nil {
			return rows, fmt.Errorf("export signups: %w", err)
		}
		if err := ex.end(); err != nil {
			return rows, fmt.Errorf("export: %w", err)
		}
		return rows, nil
	}
}

// column is one export column: fixed fields first, then each question of
// the form in flow order, so the order is stable across exports.
type column struct {
	name string
	step *flows.Step
}

func exportColumns(f *flows.Flow) []column {
	cols := []column{{name: "chat_id"}, {name: "language"}, {name: "source"}, {name: "created"}, {name: "updated"}}
	for _, s := range f.Steps {
		if s.Answerable() {
			cols = append(cols, column{name: s.ID, step: s})
		}
	}
	return cols
}

// values returns a sign-up's value for a column: answers exactly as the
// member gave them (option values for choices), multi answers as a list.
func (col column) values(s *bot.Signup) []string {
	switch col.name {
	case "chat_id":
		return []string{strconv.FormatInt(s.ChatID, 10)}
	case "language":
		return []string{s.Lang}
	case "source":
		return []string{s.Source}
	case "created":
		return []string{s.Created.UTC().Format(time.RFC3339)}
	case "updated":
		return []string{s.Updated.UTC().Format(time.RFC3339)}
	}
	return s.Answers[col.name]
}

type exporter interface {
	begin() error
	row(*bot.Signup) error
	end() error
}

type csvExporter struct {
	w    *csv.Writer
	cols []column
}

func (e *csvExporter) begin() error {
	head := make([]string, len(e.cols))
	for i, c := range e.cols {
		head[i] = c.name
	}
	return e.w.Write(head)
}

func (e *csvExporter) row(s *bot.Signup) error {
	rec := make([]string, len(e.cols))
	for i, c := range e.cols {
		rec[i] = csvSafe(strings.Join(c.values(s), "; "))
	}
	return e.w.Write(rec)
}

func (e *csvExporter) end() error { e.w.Flush(); return e.w.Error() }

// csvSafe keeps a spreadsheet from running a cell as a formula (CSV
// injection): a leading = + - @ (or tab / carriage return) gets a quote.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

type jsonExporter struct {
	w    io.Writer
	cols []column
	n    int
}

func (e *jsonExporter) begin() error { _, err := io.WriteString(e.w, "["); return err }

// row writes one object with keys in column order (a map would sort them).
func (e *jsonExporter) row(s *bot.Signup) error {
	var b strings.Builder
	if e.n > 0 {
		b.WriteString(",")
	}
	b.WriteString("\n  {")
	for i, c := range e.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		k, _ := json.Marshal(c.name)
		var v []byte
		vals := c.values(s)
		switch {
		case c.name == "chat_id":
			v = []byte(vals[0])
		case c.step != nil && c.step.Kind == flows.KindMulti:
			if vals == nil {
				vals = []string{}
			}
			v, _ = json.Marshal(vals)
		default:
			v, _ = json.Marshal(strings.Join(vals, "; "))
		}
		b.Write(k)
		b.WriteString(": ")
		b.Write(v)
	}
	b.WriteString("}")
	e.n++
	_, err := io.WriteString(e.w, b.String())
	return err
}

func (e *jsonExporter) end() error {
	end := "\n]\n"
	if e.n == 0 {
		end = "]\n"
	}
	_, err := io.WriteString(e.w, end)
	return err
}
