package sim

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aquascene/aquahub/connectors/simkit"
)

// Deprecated maps metric names Graph API v22.0 and later refuse onto the metric that
// replaced them.
var Deprecated = map[string]string{
	"impressions":                         "views",
	"plays":                               "views",
	"video_views":                         "views",
	"clips_replays_count":                 "views",
	"ig_reels_aggregated_all_plays_count": "views",
	"engagement":                          "total_interactions",
	"carousel_album_impressions":          "views",
	"carousel_album_reach":                "reach",
	"carousel_album_engagement":           "total_interactions",
	"carousel_album_saved":                "saved",
	"carousel_album_video_views":          "views",
	"email_contacts":                      "profile_links_taps",
	"phone_call_clicks":                   "profile_links_taps",
	"text_message_clicks":                 "profile_links_taps",
	"get_directions_clicks":               "profile_links_taps",
}

// Media metrics by media product type, in Graph's order.
var (
	feedMetrics  = []string{"comments", "follows", "likes", "profile_activity", "profile_visits", "reach", "saved", "shares", "total_interactions", "views"}
	reelsMetrics = []string{"comments", "ig_reels_avg_watch_time", "ig_reels_video_view_total_time", "likes", "reach", "saved", "shares", "total_interactions", "views"}
	storyMetrics = []string{"follows", "navigation", "profile_activity", "profile_visits", "reach", "replies", "shares", "total_interactions", "views"}
	userMetrics  = []string{"accounts_engaged", "comments", "follower_count", "follows_and_unfollows", "likes", "online_followers", "profile_links_taps", "reach", "replies", "saves", "shares", "total_interactions", "views", "website_clicks", "profile_views"}
)

var metricTitles = map[string]string{
	"reach": "Accounts reached", "views": "Views", "likes": "Likes", "comments": "Comments", "saved": "Saved",
	"shares": "Shares", "total_interactions": "Interactions", "follows": "Follows", "profile_visits": "Profile visits",
	"profile_activity": "Profile activity", "ig_reels_avg_watch_time": "Average watch time",
	"ig_reels_video_view_total_time": "Total watch time", "navigation": "Navigation", "replies": "Replies",
	"accounts_engaged": "Accounts engaged", "follower_count": "Follower count", "follows_and_unfollows": "Follows and unfollows",
	"online_followers": "Online followers", "profile_links_taps": "Profile links taps", "saves": "Saves",
	"website_clicks": "Website clicks", "profile_views": "Profile views",
}

func hash(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		_, _ = h.Write([]byte(p))
		_, _ = h.Write([]byte{0})
	}
	return h.Sum64()
}

// metricValues returns a media object's deterministic lifetime metrics, consistent with
// each other (interactions are the sum of likes, comments, saves and shares).
func metricValues(m *Media) map[string]int64 {
	h := hash(m.ID)
	reach := int64(500 + h%1500)
	views := reach + reach*int64(h/7%80)/100
	likes := reach * int64(3+h/11%7) / 100
	comments, saved, shares := likes/8, likes/5, likes/10
	avgWatch := int64(4000 + h/13%8000)
	return map[string]int64{
		"reach": reach, "views": views, "likes": likes, "comments": comments, "saved": saved, "shares": shares,
		"total_interactions": likes + comments + saved + shares, "follows": int64(h / 17 % 5),
		"profile_visits": reach / 25, "profile_activity": reach / 40, "navigation": reach / 3, "replies": comments / 2,
		"ig_reels_avg_watch_time": avgWatch, "ig_reels_video_view_total_time": avgWatch * views,
	}
}

func metricList(p url.Values) ([]string, *GraphError) {
	raw := p.Get("metric")
	if raw == "" {
		e := invalidParam("The parameter metric is required")
		return nil, &e
	}
	var out []string
	for _, m := range strings.Split(raw, ",") {
		m = strings.TrimSpace(m)
		if repl, ok := Deprecated[m]; ok {
			e := invalidParam(fmt.Sprintf("Starting from version v22.0 and above, the %s metric is no longer supported. Please use %s instead.", m, repl))
			return nil, &e
		}
		out = append(out, m)
	}
	return out, nil
}

func checkMetrics(metrics, allowed []string) *GraphError {
	for i, m := range metrics {
		ok := false
		for _, a := range allowed {
			ok = ok || a == m
		}
		if !ok {
			e := invalidParam(fmt.Sprintf("metric[%d] must be one of the following values: %s", i, strings.Join(allowed, ", ")))
			return &e
		}
	}
	return nil
}

func description(m string) string {
	return "The number of " + strings.ReplaceAll(m, "_", " ") + "."
}

// mediaInsights serves GET /{ig-media-id}/insights.
func (s *Server) mediaInsights(w http.ResponseWriter, id string, p url.Values) {
	s.mu.Lock()
	m, ok := s.media[id]
	var media Media
	if ok {
		media = *m
	}
	s.mu.Unlock()
	if !ok {
		s.writeError(w, unsupported(id))
		return
	}
	metrics, e := metricList(p)
	if e != nil {
		s.writeError(w, *e)
		return
	}
	allowed := feedMetrics
	switch media.MediaProductType {
	case "REELS":
		allowed = reelsMetrics
	case "STORY":
		allowed = storyMetrics
	}
	if e := checkMetrics(metrics, allowed); e != nil {
		s.writeError(w, *e)
		return
	}
	values := metricValues(&media)
	data := []map[string]any{}
	for _, name := range metrics {
		data = append(data, map[string]any{
			"name": name, "period": "lifetime", "values": []map[string]any{{"value": values[name]}},
			"title": metricTitles[name], "description": description(name), "id": id + "/insights/" + name + "/lifetime",
		})
	}
	simkit.WriteJSON(w, http.StatusOK, map[string]any{"data": data})
}

// userInsights serves GET /{ig-user-id}/insights: per-day values (time_series) or one
// total over since..until (total_value), deterministic per account, metric and day.
func (s *Server) userInsights(w http.ResponseWriter, p url.Values) {
	metrics, e := metricList(p)
	if e != nil {
		s.writeError(w, *e)
		return
	}
	if e := checkMetrics(metrics, userMetrics); e != nil {
		s.writeError(w, *e)
		return
	}
	period := p.Get("period")
	switch period {
	case "":
		s.writeError(w, invalidParam("The parameter period is required"))
		return
	case "day", "week", "days_28", "lifetime":
	default:
		s.writeError(w, invalidParam("Param period must be one of {day, week, days_28, lifetime}"))
		return
	}
	kind := p.Get("metric_type")
	if kind == "" {
		kind = "time_series"
	}
	if kind != "time_series" && kind != "total_value" {
		s.writeError(w, invalidParam("Param metric_type must be one of {time_series, total_value}"))
		return
	}
	now := s.now().UTC()
	until, since := now, now.Add(-48*time.Hour)
	for name, dst := range map[string]*time.Time{"since": &since, "until": &until} {
		if v := p.Get(name); v != "" {
			t, ok := parseGraphTime(v)
			if !ok {
				s.writeError(w, invalidParam("Param "+name+" must be a Unix timestamp"))
				return
			}
			*dst = t.UTC()
		}
	}
	if until.Sub(since) > 30*24*time.Hour {
		s.writeError(w, invalidParam("There cannot be more than 30 days (2592000 s) between since and until"))
		return
	}
	if !until.After(since) {
		s.writeError(w, invalidParam("Param until must be later than since"))
		return
	}
	var days []time.Time
	for d := since.Truncate(24 * time.Hour).Add(24 * time.Hour); !d.After(until.Truncate(24 * time.Hour).Add(24 * time.Hour)); d = d.Add(24 * time.Hour) {
		days = append(days, d.Add(7*time.Hour)) // Graph's day ends at 07:00 UTC (midnight Pacific)
	}
	daily := func(metric string, day time.Time) int64 {
		return int64(100 + hash(s.user, metric, day.Format("2006-01-02"))%900)
	}
	data := []map[string]any{}
	for _, name := range metrics {
		entry := map[string]any{"name": name, "period": period, "title": metricTitles[name],
			"description": description(name), "id": s.user + "/insights/" + name + "/" + period}
		if kind == "total_value" {
			var total int64
			for _, d := range days {
				total += daily(name, d)
			}
			entry["total_value"] = map[string]any{"value": total}
		} else {
			var values []map[string]any
			for _, d := range days {
				values = append(values, map[string]any{"value": daily(name, d), "end_time": graphTime(d)})
			}
			entry["values"] = values
		}
		data = append(data, entry)
	}
	simkit.WriteJSON(w, http.StatusOK, map[string]any{"data": data})
}
