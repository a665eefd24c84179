package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestServeCatalogue: -catalogue prices the quotes by the given file.
func TestServeCatalogue(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "catalogue.json")
	if err := os.WriteFile(file, []byte(`{"pricing": {"currency": "EUR", "time_zone": "Europe/Berlin"},
	  "services": [{"name": "cleaning", "skill": "cleaning", "default_duration_minutes": 60, "price": {"base": 700, "per_hour": 2400}}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startServe(t, nil, "-addr", "127.0.0.1:0", "-catalogue", file)
	addr := c.waitAddr(t)
	start := time.Now().UTC().Truncate(time.Hour)
	post := func(method, path, body string) []byte {
		t.Helper()
		req, err := http.NewRequest(method, "http://"+addr+path, bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(res.Body)
		if res.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, buf.Bytes())
		}
		return buf.Bytes()
	}
	post(http.MethodPut, "/v1/workers/ana", `{"skills": ["cleaning"], "home": {"lat": 52.52, "lng": 13.405}, "rating": 5,
	  "shifts": [{"start": "`+start.Format(time.RFC3339)+`", "end": "`+start.Add(20*time.Hour).Format(time.RFC3339)+`"}]}`)
	var m struct {
		Options []struct {
			Price struct {
				Currency string `json:"currency"`
				Total    int64  `json:"total"`
			} `json:"price"`
		} `json:"options"`
	}
	if err := json.Unmarshal(post(http.MethodPost, "/v1/match", `{"service": "cleaning", "urgency": "normal", "location": {"lat": 52.521, "lng": 13.406}}`), &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Options) == 0 || m.Options[0].Price.Currency != "EUR" || m.Options[0].Price.Total != 700+2400 {
		t.Errorf("quote priced %+v, want EUR 31.00 by the file", m.Options)
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	if code := c.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit status %d after SIGTERM:\n%s", code, c.stderr())
	}
}
