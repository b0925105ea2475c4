package sim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aquascene/aquahub/connectors/simkit"
)

// Container status codes, as GET /{container-id}?fields=status_code answers.
const (
	StatusInProgress = "IN_PROGRESS"
	StatusFinished   = "FINISHED"
	StatusError      = "ERROR"
	StatusExpired    = "EXPIRED"
	StatusPublished  = "PUBLISHED"
)

// ErrorInvalidMedia is the error code Instagram reports in a container's status when it
// cannot process the media (an unsupported or unreachable file).
const ErrorInvalidMedia = 2207026

// Container is one media container, as POST /{ig-user-id}/media created it.
type Container struct {
	ID             string    `json:"id"`
	MediaType      string    `json:"media_type"`
	ImageURL       string    `json:"image_url,omitempty"`
	VideoURL       string    `json:"video_url,omitempty"`
	Caption        string    `json:"caption,omitempty"`
	Children       []string  `json:"children,omitempty"`
	IsCarouselItem bool      `json:"is_carousel_item,omitempty"`
	StatusCode     string    `json:"status_code"`
	CreatedAt      time.Time `json:"created_at"`
	// Polls is how many status reads the container answered.
	Polls int `json:"polls"`
	// MediaID is the published media's id once published.
	MediaID string `json:"media_id,omitempty"`

	pollsLeft int
	bad       bool
}

// Media is one published media object.
type Media struct {
	ID               string    `json:"id"`
	MediaType        string    `json:"media_type"`
	MediaProductType string    `json:"media_product_type"`
	Caption          string    `json:"caption,omitempty"`
	Permalink        string    `json:"permalink"`
	Shortcode        string    `json:"shortcode"`
	Timestamp        time.Time `json:"timestamp"`
	MediaURL         string    `json:"media_url,omitempty"`
	Children         []string  `json:"children,omitempty"`
	ContainerID      string    `json:"container_id"`
}

// Containers returns every container, in creation order.
func (s *Server) Containers() []Container {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Container, 0, len(s.containers))
	for _, c := range s.containers {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Media returns the published media, oldest first.
func (s *Server) Media() []Media {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Media, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, *s.media[id])
	}
	return out
}

// UsePublishingQuota records n publishes now against the account's 24-hour limit, as posts
// made through the API by another app would.
func (s *Server) UsePublishingQuota(n int) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.publishes[s.user] = append(s.publishes[s.user], now)
	}
}

func (s *Server) nextID(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%011d", prefix, s.seq)
}

var (
	hashtagRE = regexp.MustCompile(`#[\p{L}\p{N}_]+`)
	mentionRE = regexp.MustCompile(`@[A-Za-z0-9._]+`)
)

// looksInvalid reports whether a media URL is one Instagram could not fetch or process: a
// host under the reserved .invalid domain, or a file type it does not accept.
func looksInvalid(raw string, exts ...string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return true
	}
	if strings.HasSuffix(strings.ToLower(u.Hostname()), ".invalid") {
		return true
	}
	ext := strings.ToLower(path.Ext(u.Path))
	for _, e := range exts {
		if ext == e {
			return false
		}
	}
	return true
}

func validURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func downloadFailed(raw string) GraphError {
	return GraphError{Code: 9004, Subcode: 2207052, Message: "Only photo or video can be accepted as media type.",
		UserTitle: "Media download has failed.", UserMsg: "The media could not be fetched from this URI: " + raw + ". Please check the URI and try again."}
}

// createContainer serves POST /{ig-user-id}/media.
func (s *Server) createContainer(w http.ResponseWriter, p url.Values) {
	mediaType := strings.ToUpper(p.Get("media_type"))
	item := p.Get("is_carousel_item") == "true"
	caption := p.Get("caption")
	if !item {
		if n := utf8.RuneCountInString(caption); n > MaxCaption {
			s.writeError(w, invalidParam(fmt.Sprintf("The caption is too long: %d characters, at most %d are allowed", n, MaxCaption)))
			return
		}
		if n := len(hashtagRE.FindAllString(caption, -1)); n > MaxHashtags {
			s.writeError(w, invalidParam(fmt.Sprintf("The caption has %d hashtags, at most %d are allowed", n, MaxHashtags)))
			return
		}
		if n := len(mentionRE.FindAllString(caption, -1)); n > MaxMentions {
			s.writeError(w, invalidParam(fmt.Sprintf("The caption has %d @mentions, at most %d are allowed", n, MaxMentions)))
			return
		}
	}
	c := &Container{MediaType: mediaType, Caption: caption, IsCarouselItem: item, StatusCode: StatusInProgress, CreatedAt: s.now()}
	image, video := p.Get("image_url"), p.Get("video_url")
	switch mediaType {
	case "", "IMAGE":
		c.MediaType = "IMAGE"
		if image == "" {
			s.writeError(w, invalidParam("The parameter image_url is required"))
			return
		}
	case "VIDEO":
		if !item {
			s.writeError(w, invalidParam("The VIDEO media type is only available for carousel items; publish a single video as REELS"))
			return
		}
		if video == "" {
			s.writeError(w, invalidParam("The parameter video_url is required"))
			return
		}
	case "REELS":
		if video == "" {
			s.writeError(w, invalidParam("The parameter video_url is required"))
			return
		}
		if item {
			s.writeError(w, invalidParam("REELS cannot be a carousel item"))
			return
		}
	case "STORIES":
		if image == "" && video == "" {
			s.writeError(w, invalidParam("The parameter image_url or video_url is required"))
			return
		}
	case "CAROUSEL":
		if item {
			s.writeError(w, invalidParam("A carousel cannot be a carousel item"))
			return
		}
		if e, ok := s.carouselChildren(c, p.Get("children")); !ok {
			s.writeError(w, e)
			return
		}
	default:
		s.writeError(w, invalidParam("Param media_type must be one of {IMAGE, VIDEO, REELS, STORIES, CAROUSEL}"))
		return
	}
	for name, raw := range map[string]string{"image_url": image, "video_url": video} {
		if raw != "" && !validURL(raw) {
			s.writeError(w, invalidParam(fmt.Sprintf("Param %s must be a valid URL", name)))
			return
		}
	}
	if image != "" && mediaType != "CAROUSEL" {
		// Instagram fetches images while creating the container and fails the call at once.
		if looksInvalid(image, ".jpg", ".jpeg") {
			s.writeError(w, downloadFailed(image))
			return
		}
		c.ImageURL = image
	}
	if video != "" && mediaType != "CAROUSEL" {
		// Videos are fetched and transcoded asynchronously: a bad one turns the container
		// to ERROR later.
		c.VideoURL = video
		c.bad = looksInvalid(video, ".mp4", ".mov")
	}
	s.mu.Lock()
	c.ID = s.nextID("179")
	c.pollsLeft = s.polls
	s.containers[c.ID] = c
	s.mu.Unlock()
	simkit.WriteJSON(w, http.StatusOK, map[string]string{"id": c.ID})
}

// carouselChildren checks the children of a carousel container and sets them.
func (s *Server) carouselChildren(c *Container, list string) (GraphError, bool) {
	var ids []string
	// Meta's SDKs send list parameters as JSON arrays; the documentation shows a comma list.
	if strings.HasPrefix(strings.TrimSpace(list), "[") {
		var arr []string
		if err := json.Unmarshal([]byte(list), &arr); err != nil {
			return invalidParam("Param children must be an array of container ids"), false
		}
		list = strings.Join(arr, ",")
	}
	for _, id := range strings.Split(list, ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) < 2 || len(ids) > MaxCarouselItems {
		return invalidParam(fmt.Sprintf("The parameter children must list 2 to %d carousel item containers", MaxCarouselItems)), false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		child, ok := s.containers[id]
		if !ok || !child.IsCarouselItem {
			return invalidParam(fmt.Sprintf("Param children contains %s, which is not a carousel item container", id)), false
		}
		if st := s.statusLocked(child, false); st == StatusError || st == StatusExpired {
			return GraphError{Code: 9007, Subcode: 2207001, Message: "Carousel item " + id + " cannot be used: its status is " + st}, false
		}
	}
	c.Children = ids
	return GraphError{}, true
}

// statusLocked returns the container's status code, advancing it when poll is set (a
// status read): IN_PROGRESS for the configured number of reads, then FINISHED, or ERROR for
// media that looks invalid. A carousel finishes once all its children have.
func (s *Server) statusLocked(c *Container, poll bool) string {
	if c.StatusCode != StatusPublished && c.StatusCode != StatusExpired && s.now().Sub(c.CreatedAt) >= ContainerTTL {
		c.StatusCode = StatusExpired
	}
	if c.StatusCode != StatusInProgress {
		return c.StatusCode
	}
	if poll {
		c.Polls++
		if c.pollsLeft > 0 {
			c.pollsLeft--
			return c.StatusCode
		}
	} else if c.pollsLeft > 0 {
		return c.StatusCode
	}
	switch {
	case c.bad:
		c.StatusCode = StatusError
	case c.MediaType == "CAROUSEL":
		for _, id := range c.Children {
			switch s.statusLocked(s.containers[id], false) {
			case StatusError, StatusExpired:
				c.StatusCode = StatusError
				return c.StatusCode
			case StatusInProgress:
				return c.StatusCode
			}
		}
		c.StatusCode = StatusFinished
	default:
		c.StatusCode = StatusFinished
	}
	return c.StatusCode
}

func statusText(c *Container) string {
	switch c.StatusCode {
	case StatusInProgress:
		return "In Progress: Media is still being processed."
	case StatusFinished:
		return "Finished: Media has been uploaded and it is ready to be published."
	case StatusError:
		return fmt.Sprintf("Error: Media upload has failed with error code %d", ErrorInvalidMedia)
	case StatusExpired:
		return "Expired: The media container was not published within 24 hours."
	}
	return "Published: Media has been published."
}

// getObject serves GET /{id} for containers and media.
func (s *Server) getObject(w http.ResponseWriter, id string, p url.Values) {
	s.mu.Lock()
	if c, ok := s.containers[id]; ok {
		st := s.statusLocked(c, true)
		all := map[string]any{"id": c.ID, "status_code": st, "status": statusText(c)}
		s.mu.Unlock()
		simkit.WriteJSON(w, http.StatusOK, pick(all, p.Get("fields"), "id"))
		return
	}
	m, ok := s.media[id]
	if !ok {
		s.mu.Unlock()
		s.writeError(w, unsupported(id))
		return
	}
	all := s.mediaFields(m)
	s.mu.Unlock()
	simkit.WriteJSON(w, http.StatusOK, pick(all, p.Get("fields"), "id"))
}

// graphTime formats t as Graph does: 2025-08-06T15:00:00+0000.
func graphTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05-0700") }

func (s *Server) mediaFields(m *Media) map[string]any {
	n := metricValues(m)
	all := map[string]any{
		"id": m.ID, "caption": m.Caption, "media_type": m.MediaType, "media_product_type": m.MediaProductType,
		"permalink": m.Permalink, "shortcode": m.Shortcode, "timestamp": graphTime(m.Timestamp),
		"username": DefaultUsername, "owner": map[string]string{"id": s.user}, "media_url": m.MediaURL,
		"like_count": n["likes"], "comments_count": n["comments"], "is_comment_enabled": true,
		"is_shared_to_feed": true,
	}
	if len(m.Children) > 0 {
		var data []map[string]string
		for _, c := range m.Children {
			data = append(data, map[string]string{"id": c})
		}
		all["children"] = map[string]any{"data": data}
	}
	return all
}

// publish serves POST /{ig-user-id}/media_publish.
func (s *Server) publish(w http.ResponseWriter, p url.Values) {
	id := p.Get("creation_id")
	if id == "" {
		s.writeError(w, invalidParam("The parameter creation_id is required."))
		return
	}
	now := s.now()
	s.mu.Lock()
	c, ok := s.containers[id]
	if !ok {
		s.mu.Unlock()
		s.writeError(w, invalidParam("Param creation_id must be a valid media container id"))
		return
	}
	if c.IsCarouselItem {
		s.mu.Unlock()
		s.writeError(w, invalidParam("A carousel item cannot be published on its own; publish the carousel container"))
		return
	}
	switch s.statusLocked(c, false) {
	case StatusInProgress:
		s.mu.Unlock()
		s.writeError(w, GraphError{Code: 9007, Subcode: 2207027, Message: "Media ID is not available",
			UserTitle: "Media not ready for publishing", UserMsg: "The media is not ready for publishing, please wait for a moment"})
		return
	case StatusError:
		s.mu.Unlock()
		s.writeError(w, GraphError{Code: 9004, Subcode: ErrorInvalidMedia, Message: "The media could not be processed.",
			UserTitle: "Unsupported media", UserMsg: statusText(c)})
		return
	case StatusExpired:
		s.mu.Unlock()
		s.writeError(w, GraphError{Code: 9007, Subcode: 2207008, Message: "The media container has expired.",
			UserTitle: "Media container expired", UserMsg: "Create a new container and publish it within 24 hours."})
		return
	case StatusPublished:
		s.mu.Unlock()
		s.writeError(w, invalidParam("The media container "+id+" has already been published"))
		return
	}
	if used := s.usedLocked(now, time.Time{}); used >= QuotaTotal {
		s.mu.Unlock()
		s.writeError(w, GraphError{Code: 9, Subcode: 2207042, Message: "Application request limit reached",
			UserTitle: "Cannot publish post", UserMsg: "You reached maximum number of posts that is allowed to be published by Content Publish API."})
		return
	}
	m := s.publishLocked(c, now)
	s.publishes[s.user] = append(s.publishes[s.user], now)
	s.mu.Unlock()
	simkit.WriteJSON(w, http.StatusOK, map[string]string{"id": m.ID})
}

func (s *Server) publishLocked(c *Container, now time.Time) *Media {
	m := &Media{ID: s.nextID("180"), Caption: c.Caption, Timestamp: now.UTC().Truncate(time.Second), ContainerID: c.ID, MediaProductType: "FEED"}
	m.Shortcode = shortcode(m.ID)
	kind := "p"
	switch c.MediaType {
	case "IMAGE":
		m.MediaType, m.MediaURL = "IMAGE", c.ImageURL
	case "REELS":
		m.MediaType, m.MediaProductType, m.MediaURL, kind = "VIDEO", "REELS", c.VideoURL, "reel"
	case "STORIES":
		m.MediaType, m.MediaProductType = "IMAGE", "STORY"
		if c.VideoURL != "" {
			m.MediaType = "VIDEO"
		}
	case "CAROUSEL":
		m.MediaType = "CAROUSEL_ALBUM"
		for _, id := range c.Children {
			child := s.containers[id]
			cm := &Media{ID: s.nextID("180"), MediaType: "IMAGE", MediaProductType: "FEED", Timestamp: m.Timestamp, ContainerID: id, MediaURL: child.ImageURL}
			if child.VideoURL != "" {
				cm.MediaType, cm.MediaURL = "VIDEO", child.VideoURL
			}
			cm.Shortcode, cm.Permalink = shortcode(cm.ID), "https://www.instagram.com/p/"+shortcode(cm.ID)+"/"
			s.media[cm.ID] = cm
			child.StatusCode, child.MediaID = StatusPublished, cm.ID
			m.Children = append(m.Children, cm.ID)
		}
	}
	m.Permalink = "https://www.instagram.com/" + kind + "/" + m.Shortcode + "/"
	s.media[m.ID] = m
	s.order = append(s.order, m.ID)
	c.StatusCode, c.MediaID = StatusPublished, m.ID
	return m
}

// shortcode derives a stable 11-character shortcode from a media id.
func shortcode(id string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	b := h.Sum(nil)
	return strings.TrimRight(base64.RawURLEncoding.EncodeToString(append(b, b[:1]...)), "=")[:11]
}

// usedLocked counts the account's publishes in the rolling window ending now, since since
// when that is later than the window's start.
func (s *Server) usedLocked(now, since time.Time) int {
	from := now.Add(-QuotaDuration)
	if since.After(from) {
		from = since
	}
	n := 0
	for _, t := range s.publishes[s.user] {
		if t.After(from) {
			n++
		}
	}
	return n
}

// publishingLimit serves GET /{ig-user-id}/content_publishing_limit.
func (s *Server) publishingLimit(w http.ResponseWriter, p url.Values) {
	var since time.Time
	if v := p.Get("since"); v != "" {
		t, ok := parseGraphTime(v)
		if !ok {
			s.writeError(w, invalidParam("Param since must be a Unix timestamp"))
			return
		}
		since = t
	}
	s.mu.Lock()
	used := s.usedLocked(s.now(), since)
	s.mu.Unlock()
	all := map[string]any{"quota_usage": used, "config": map[string]int{"quota_total": QuotaTotal, "quota_duration": int(QuotaDuration / time.Second)}}
	out := map[string]any{}
	fields := p.Get("fields")
	if fields == "" {
		fields = "quota_usage"
	}
	for _, f := range strings.Split(fields, ",") {
		if v, ok := all[strings.TrimSpace(f)]; ok {
			out[strings.TrimSpace(f)] = v
		}
	}
	simkit.WriteJSON(w, http.StatusOK, map[string]any{"data": []any{out}})
}

func parseGraphTime(v string) (time.Time, bool) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0), true
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05-0700", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// listMedia serves GET /{ig-user-id}/media, newest first, with cursor paging.
func (s *Server) listMedia(w http.ResponseWriter, r *http.Request, p url.Values) {
	limit := 25
	if v := p.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.writeError(w, invalidParam("Param limit must be a positive integer"))
			return
		}
		limit = min(n, 100)
	}
	var since, until time.Time
	for name, dst := range map[string]*time.Time{"since": &since, "until": &until} {
		if v := p.Get(name); v != "" {
			t, ok := parseGraphTime(v)
			if !ok {
				s.writeError(w, invalidParam("Param "+name+" must be a Unix timestamp"))
				return
			}
			*dst = t
		}
	}
	start := 0
	if a := p.Get("after"); a != "" {
		b, err := base64.RawURLEncoding.DecodeString(a)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 0 {
			s.writeError(w, invalidParam("Param after is not a valid cursor"))
			return
		}
		start = n
	}
	s.mu.Lock()
	var all []map[string]any
	for i := len(s.order) - 1; i >= 0; i-- {
		m := s.media[s.order[i]]
		if (!since.IsZero() && m.Timestamp.Before(since)) || (!until.IsZero() && m.Timestamp.After(until)) {
			continue
		}
		all = append(all, pick(s.mediaFields(m), p.Get("fields"), "id"))
	}
	s.mu.Unlock()
	page := []map[string]any{}
	if start < len(all) {
		page = all[start:min(start+limit, len(all))]
	}
	out := map[string]any{"data": page}
	if len(page) > 0 {
		cursors := map[string]string{
			"before": base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(start))),
			"after":  base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(start + len(page)))),
		}
		paging := map[string]any{"cursors": cursors}
		if start+len(page) < len(all) {
			q := url.Values{}
			for k, v := range p {
				if k != "after" && k != "access_token" {
					q[k] = v
				}
			}
			q.Set("after", cursors["after"])
			scheme := "http"
			if r.TLS != nil {
				scheme = "https"
			}
			paging["next"] = scheme + "://" + r.Host + "/" + APIVersion + "/" + s.user + "/media?" + q.Encode()
		}
		out["paging"] = paging
	}
	simkit.WriteJSON(w, http.StatusOK, out)
}

// children serves GET /{media-id}/children.
func (s *Server) children(w http.ResponseWriter, id string, p url.Values) {
	s.mu.Lock()
	m, ok := s.media[id]
	if !ok {
		s.mu.Unlock()
		s.writeError(w, unsupported(id))
		return
	}
	data := []map[string]any{}
	for _, c := range m.Children {
		data = append(data, pick(s.mediaFields(s.media[c]), p.Get("fields"), "id"))
	}
	s.mu.Unlock()
	simkit.WriteJSON(w, http.StatusOK, map[string]any{"data": data})
}
