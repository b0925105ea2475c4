package sim

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit"
)

// cursorLife is how long an unused query cursor lives, as in Salesforce.
const cursorLife = 15 * time.Minute

type cursor struct {
	rows    []map[string]any
	batch   int
	expires time.Time
}

var batchOption = regexp.MustCompile(`(?i)batchSize=(\d+)`)

// serveQuery serves GET /query?q=SOQL and GET /query/{locator}-{position}, the
// nextRecordsUrl of a query with more rows than one batch.
func (s *Server) serveQuery(rq *request) {
	w, r, segs := rq.w, rq.r, rq.segs
	if r.Method != http.MethodGet {
		writeErrors(w, http.StatusMethodNotAllowed, &apiError{ErrorCode: "METHOD_NOT_ALLOWED", Message: "HTTP Method '" + r.Method + "' not allowed. Allowed are GET,HEAD"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, c := range s.cursors {
		if now.After(c.expires) {
			delete(s.cursors, k)
		}
	}
	if len(segs) == 2 {
		locator, posText, ok := strings.Cut(segs[1], "-")
		pos, err := strconv.Atoi(posText)
		c := s.cursors[locator]
		if !ok || err != nil || c == nil || pos < 0 || pos > len(c.rows) {
			writeErrors(w, http.StatusBadRequest, &apiError{ErrorCode: "INVALID_QUERY_LOCATOR", Message: "invalid query locator"})
			return
		}
		c.expires = now.Add(cursorLife)
		s.writePage(rq, locator, c, pos)
		return
	}
	q := r.URL.Query().Get("q")
	if q == "" {
		writeErrors(w, http.StatusBadRequest, &apiError{ErrorCode: "MALFORMED_QUERY", Message: "A query string has to be specified"})
		return
	}
	sq, perr := parseSOQL(q, s.objects)
	if perr != nil {
		writeErrors(w, http.StatusBadRequest, &apiError{ErrorCode: perr.code, Message: perr.msg})
		return
	}
	includeDeleted := segs[0] == "queryAll"
	var hits []*record
	for _, rec := range s.sorted(sq.obj) {
		if (!rec.deleted || includeDeleted) && (sq.where == nil || sq.where.match(rec, now)) {
			hits = append(hits, rec)
		}
	}
	if sq.count {
		simkit.WriteJSON(w, http.StatusOK, map[string]any{"totalSize": len(hits), "done": true, "records": []any{}})
		return
	}
	sort.SliceStable(hits, func(i, j int) bool {
		for _, k := range sq.order {
			a, b := hits[i].fields[k.field.Name], hits[j].fields[k.field.Name]
			if (a == nil) != (b == nil) {
				return (a == nil) == k.nullsFirst
			}
			if a == nil {
				continue
			}
			c := compareStored(k.field, a, b)
			if c != 0 {
				return (c < 0) != k.desc
			}
		}
		return false
	})
	if sq.offset > 0 {
		hits = hits[min(sq.offset, len(hits)):]
	}
	if sq.limit >= 0 && len(hits) > sq.limit {
		hits = hits[:sq.limit]
	}
	names := make([]string, len(sq.fields))
	for i, f := range sq.fields {
		names[i] = f.Name
	}
	rows := make([]map[string]any, len(hits))
	for i, rec := range hits {
		rows[i] = rec.view(rq.base(), names)
	}
	batch := s.batchSize
	if m := batchOption.FindStringSubmatch(r.Header.Get("Sforce-Query-Options")); m != nil {
		n, _ := strconv.Atoi(m[1])
		batch = min(max(n, 200), 2000)
	}
	c := &cursor{rows: rows, batch: batch, expires: now.Add(cursorLife)}
	locator := ""
	if len(rows) > batch {
		locator = "01g" + randomToken(15)
		locator = strings.NewReplacer(".", "A", "_", "B").Replace(locator)
		s.cursors[locator] = c
	}
	s.writePage(rq, locator, c, 0)
}

func (s *Server) writePage(rq *request, locator string, c *cursor, pos int) {
	end := min(pos+c.batch, len(c.rows))
	out := map[string]any{"totalSize": len(c.rows), "done": end == len(c.rows), "records": c.rows[pos:end]}
	if end < len(c.rows) {
		out["nextRecordsUrl"] = fmt.Sprintf("%s/query/%s-%d", rq.base(), locator, end)
	} else if locator != "" {
		delete(s.cursors, locator)
	}
	simkit.WriteJSON(rq.w, http.StatusOK, out)
}

// compareStored orders two non-null stored values of a field.
func compareStored(f *Field, a, b any) int {
	switch f.Type {
	case "double", "currency", "percent", "int":
		x, _ := a.(float64)
		y, _ := b.(float64)
		return order(x < y, x > y)
	case "boolean":
		x, _ := a.(bool)
		y, _ := b.(bool)
		return order(!x && y, x && !y)
	}
	return strings.Compare(strings.ToLower(fmt.Sprint(a)), strings.ToLower(fmt.Sprint(b)))
}
