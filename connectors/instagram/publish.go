package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/plugin"
)

// Instagram's caption limits, checked before any call.
const (
	maxCaption       = 2200
	maxHashtags      = 30
	maxMentions      = 20
	minCarouselItems = 2
	maxCarouselItems = 10
	// maxPollInterval caps the doubling wait between container status reads.
	maxPollInterval = 8 * time.Second
	// resumeAfter is the retry-after of a publish handed over to a retry while its container
	// is still being processed.
	resumeAfter = 30 * time.Second
	// deadlineMargin is kept free before the call deadline for the last requests.
	deadlineMargin = 2 * time.Second
)

var (
	hashtagRE = regexp.MustCompile(`#[\p{L}\p{N}_]+`)
	mentionRE = regexp.MustCompile(`@[A-Za-z0-9._]+`)
	tagRE     = regexp.MustCompile(`^[\p{L}\p{N}_]+$`)
)

// publishState is what media.publish keeps in kv under the step's idempotency key, so that
// a retry resumes where the last attempt stopped: containers are created once, and a
// published post is never published again.
type publishState struct {
	Children  []string `json:"children,omitempty"`
	Container string   `json:"container,omitempty"`
	// PublishStarted is when media_publish was first sent (Unix seconds).
	PublishStarted int64  `json:"publish_started,omitempty"`
	MediaID        string `json:"media_id,omitempty"`
	Permalink      string `json:"permalink,omitempty"`
	Shortcode      string `json:"shortcode,omitempty"`
	MediaType      string `json:"media_type,omitempty"`
	PublishedAt    string `json:"published_at,omitempty"`
}

type store struct{ key string }

func (s store) load(ctx context.Context) (publishState, error) {
	var st publishState
	if s.key == "" {
		return st, nil
	}
	b, ok, err := plugin.KVGet(ctx, s.key)
	if err != nil || !ok {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return publishState{}, plugin.Permanent(fmt.Errorf("instagram: reading saved publish state: %w", err))
	}
	return st, nil
}

func (s store) save(ctx context.Context, st publishState) error {
	if s.key == "" {
		return nil
	}
	b, _ := json.Marshal(st)
	return plugin.KVSet(ctx, s.key, b)
}

// fullCaption appends the hashtags to the caption as the seed's integration does.
func fullCaption(in PublishIn) (string, error) {
	var tags []string
	for i, t := range in.Hashtags {
		t = strings.TrimPrefix(strings.TrimSpace(t), "#")
		if !tagRE.MatchString(t) {
			return "", plugin.InvalidInput(fmt.Sprintf("hashtags[%d]", i), fmt.Errorf("%q is not a hashtag (letters, digits and _ only)", in.Hashtags[i]))
		}
		tags = append(tags, "#"+t)
	}
	if len(tags) == 0 {
		return in.Caption, nil
	}
	if in.Caption == "" {
		return strings.Join(tags, " "), nil
	}
	return in.Caption + "\n\n" + strings.Join(tags, " "), nil
}

// checkCaption applies Instagram's limits, naming caption or hashtags as the field to fix.
func checkCaption(in PublishIn, caption string) error {
	blame := func(alone int, limit int) string {
		if len(in.Hashtags) > 0 && alone <= limit {
			return "hashtags"
		}
		return "caption"
	}
	if n := utf8.RuneCountInString(caption); n > maxCaption {
		return plugin.InvalidInput(blame(utf8.RuneCountInString(in.Caption), maxCaption), fmt.Errorf("the caption has %d characters with its hashtags; Instagram allows %d", n, maxCaption))
	}
	if n := len(hashtagRE.FindAllString(caption, -1)); n > maxHashtags {
		return plugin.InvalidInput(blame(len(hashtagRE.FindAllString(in.Caption, -1)), maxHashtags), fmt.Errorf("the caption has %d hashtags; Instagram allows %d", n, maxHashtags))
	}
	if n := len(mentionRE.FindAllString(caption, -1)); n > maxMentions {
		return plugin.InvalidInput("caption", fmt.Errorf("the caption has %d @mentions; Instagram allows %d", n, maxMentions))
	}
	return nil
}

// kind returns the post's type, from the input or inferred from its media.
func kind(in PublishIn) string {
	switch {
	case in.Type != "":
		return in.Type
	case len(in.Items) > 0:
		return "carousel"
	case in.VideoURL != "":
		return "reel"
	}
	return "image"
}

func checkMedia(in PublishIn) error {
	switch kind(in) {
	case "image":
		if in.ImageURL == "" {
			return plugin.InvalidInput("image_url", errors.New("an image post needs image_url"))
		}
		if in.VideoURL != "" || len(in.Items) > 0 {
			return plugin.InvalidInput("type", errors.New("an image post takes image_url only; use type carousel or reel"))
		}
	case "reel":
		if in.VideoURL == "" {
			return plugin.InvalidInput("video_url", errors.New("a reel needs video_url"))
		}
		if in.ImageURL != "" || len(in.Items) > 0 {
			return plugin.InvalidInput("type", errors.New("a reel takes video_url (and cover_url) only"))
		}
	case "carousel":
		if len(in.Items) < minCarouselItems || len(in.Items) > maxCarouselItems {
			return plugin.InvalidInput("items", fmt.Errorf("a carousel takes %d to %d items (got %d)", minCarouselItems, maxCarouselItems, len(in.Items)))
		}
		for i, it := range in.Items {
			if (it.ImageURL == "") == (it.VideoURL == "") {
				return plugin.InvalidInput(fmt.Sprintf("items[%d]", i), errors.New("give exactly one of image_url and video_url"))
			}
		}
		if in.ImageURL != "" || in.VideoURL != "" {
			return plugin.InvalidInput("type", errors.New("a carousel takes its media in items"))
		}
	}
	return nil
}

// publisher runs one media.publish.
type publisher struct {
	g        *graph
	user     string
	in       PublishIn
	caption  string
	store    store
	st       publishState
	interval time.Duration
	deadline time.Time
}

func durationConfig(ctx context.Context, key string, def time.Duration) (time.Duration, error) {
	v := plugin.ConfigString(ctx, key, "")
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, plugin.Permanent(fmt.Errorf("config %s: want a positive Go duration such as 1s (got %q)", key, v))
	}
	return d, nil
}

func publish(ctx context.Context, in PublishIn) (PublishOut, error) {
	caption, err := fullCaption(in)
	if err != nil {
		return PublishOut{}, err
	}
	if err := checkCaption(in, caption); err != nil {
		return PublishOut{}, err
	}
	if err := checkMedia(in); err != nil {
		return PublishOut{}, err
	}
	user, err := userOf(ctx, in.IGUserID)
	if err != nil {
		return PublishOut{}, err
	}
	interval, err := durationConfig(ctx, "poll_interval", time.Second)
	if err != nil {
		return PublishOut{}, err
	}
	wait, err := durationConfig(ctx, "publish_wait", 25*time.Second)
	if err != nil {
		return PublishOut{}, err
	}
	p := &publisher{g: newGraph(ctx), user: user, in: in, caption: caption, interval: interval,
		deadline: time.Now().Add(wait)}
	if d, ok := ctx.Deadline(); ok && d.Add(-deadlineMargin).Before(p.deadline) {
		p.deadline = d.Add(-deadlineMargin)
	}
	if key := plugin.IdempotencyKey(ctx); key != "" {
		p.store = store{key: "publish/" + key}
	}
	if p.st, err = p.store.load(ctx); err != nil {
		return PublishOut{}, err
	}
	return p.run(ctx)
}

func (p *publisher) save(ctx context.Context) error { return p.store.save(ctx, p.st) }

func (p *publisher) run(ctx context.Context) (PublishOut, error) {
	if p.st.MediaID != "" {
		return p.finish(ctx, true)
	}
	if p.st.PublishStarted != 0 && p.st.Container != "" {
		// An earlier attempt sent media_publish and lost the answer: find out whether it
		// went through before publishing again.
		if found, err := p.recover(ctx); err != nil || found {
			if err != nil {
				return PublishOut{}, err
			}
			return p.finish(ctx, true)
		}
	}
	if err := p.checkQuota(ctx); err != nil {
		return PublishOut{}, err
	}
	if p.st.Container == "" {
		if err := p.createContainers(ctx); err != nil {
			return PublishOut{}, err
		}
	}
	if err := p.await(ctx, p.st.Container, mediaFieldOf(p.in, -1)); err != nil {
		return PublishOut{}, err
	}
	p.st.PublishStarted = time.Now().Unix()
	if err := p.save(ctx); err != nil {
		return PublishOut{}, err
	}
	var res struct {
		ID string `json:"id"`
	}
	err := p.g.call(ctx, http.MethodPost, "/"+url.PathEscape(p.user)+"/media_publish", url.Values{"creation_id": {p.st.Container}}, &res)
	switch {
	case isCode(err, codeMediaNotReady, subcodeNotReady):
		return PublishOut{}, &plugin.Error{Kind: abi.KindTransient, RetryAfter: resumeAfter, Err: err}
	case isCode(err, codeQuota, subcodeQuota):
		return PublishOut{}, plugin.RateLimited(p.quotaWait(ctx), err)
	case isCode(err, codeMediaFailed, 0):
		return PublishOut{}, withField(err, mediaFieldOf(p.in, -1))
	case err != nil:
		return PublishOut{}, err
	case res.ID == "":
		return PublishOut{}, plugin.Transient(errors.New("instagram: media_publish answered no id"))
	}
	p.st.MediaID = res.ID
	if err := p.save(ctx); err != nil {
		return PublishOut{}, err
	}
	return p.finish(ctx, false)
}

// mediaFieldOf names the input field holding the media of the post, or of carousel item i.
func mediaFieldOf(in PublishIn, i int) string {
	switch {
	case i >= 0 && in.Items[i].VideoURL != "":
		return fmt.Sprintf("items[%d].video_url", i)
	case i >= 0:
		return fmt.Sprintf("items[%d].image_url", i)
	case kind(in) == "reel":
		return "video_url"
	case kind(in) == "carousel":
		return "items"
	}
	return "image_url"
}

// checkQuota refuses to start when the account has used its publishing limit.
func (p *publisher) checkQuota(ctx context.Context) error {
	l, err := readLimit(ctx, p.g, p.user)
	if err != nil {
		return err
	}
	if l.QuotaUsage < l.QuotaTotal {
		return nil
	}
	return plugin.RateLimited(p.quotaWait(ctx), fmt.Errorf("instagram: account %s has published %d of %d posts allowed in %s", p.user, l.QuotaUsage, l.QuotaTotal, time.Duration(l.QuotaDuration)*time.Second))
}

// quotaWait estimates when the rolling 24-hour window frees a post: 24 hours after the
// oldest post inside it, or an hour when the media list cannot say.
func (p *publisher) quotaWait(ctx context.Context) time.Duration {
	now := time.Now()
	var list struct {
		Data []struct {
			Timestamp string `json:"timestamp"`
		} `json:"data"`
	}
	q := url.Values{"fields": {"timestamp"}, "since": {strconv.FormatInt(now.Add(-24*time.Hour).Unix(), 10)}, "limit": {"100"}}
	if p.g.call(ctx, http.MethodGet, "/"+url.PathEscape(p.user)+"/media", q, &list) != nil {
		return time.Hour
	}
	var oldest time.Time
	for _, m := range list.Data {
		if t, ok := parseTime(m.Timestamp); ok && (oldest.IsZero() || t.Before(oldest)) {
			oldest = t
		}
	}
	if oldest.IsZero() {
		return time.Hour
	}
	return max(time.Minute, oldest.Add(24*time.Hour).Sub(now)+time.Minute)
}

func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02T15:04:05-0700", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func (p *publisher) createContainers(ctx context.Context) error {
	base := url.Values{}
	if p.in.LocationID != "" {
		base.Set("location_id", p.in.LocationID)
	}
	if len(p.in.Collaborators) > 0 {
		b, _ := json.Marshal(p.in.Collaborators)
		base.Set("collaborators", string(b))
	}
	q := url.Values{"caption": {p.caption}}
	for k, v := range base {
		q[k] = v
	}
	switch kind(p.in) {
	case "image":
		q.Set("image_url", p.in.ImageURL)
		if p.in.AltText != "" {
			q.Set("alt_text", p.in.AltText)
		}
		if err := p.userTags(q); err != nil {
			return err
		}
	case "reel":
		q.Set("media_type", "REELS")
		q.Set("video_url", p.in.VideoURL)
		if p.in.CoverURL != "" {
			q.Set("cover_url", p.in.CoverURL)
		}
		if p.in.ShareToFeed != nil {
			q.Set("share_to_feed", strconv.FormatBool(*p.in.ShareToFeed))
		}
		if p.in.ThumbOffset > 0 {
			q.Set("thumb_offset", strconv.Itoa(p.in.ThumbOffset))
		}
		if err := p.userTags(q); err != nil {
			return err
		}
	case "carousel":
		// Children first, each saved as soon as it exists; all must have finished
		// processing before the carousel container can take them.
		for i, it := range p.in.Items {
			if i < len(p.st.Children) {
				continue
			}
			cq := url.Values{"is_carousel_item": {"true"}}
			if it.VideoURL != "" {
				cq.Set("media_type", "VIDEO")
				cq.Set("video_url", it.VideoURL)
			} else {
				cq.Set("image_url", it.ImageURL)
			}
			if it.AltText != "" {
				cq.Set("alt_text", it.AltText)
			}
			id, err := p.create(ctx, cq, mediaFieldOf(p.in, i))
			if err != nil {
				return err
			}
			p.st.Children = append(p.st.Children, id)
			if err := p.save(ctx); err != nil {
				return err
			}
		}
		for i, id := range p.st.Children {
			if err := p.await(ctx, id, mediaFieldOf(p.in, i)); err != nil {
				return err
			}
		}
		q.Set("media_type", "CAROUSEL")
		q.Set("children", strings.Join(p.st.Children, ","))
	}
	id, err := p.create(ctx, q, mediaFieldOf(p.in, -1))
	if err != nil {
		return err
	}
	p.st.Container = id
	return p.save(ctx)
}

func (p *publisher) userTags(q url.Values) error {
	if len(p.in.UserTags) == 0 {
		return nil
	}
	b, err := json.Marshal(p.in.UserTags)
	if err != nil {
		return plugin.InvalidInput("user_tags", err)
	}
	q.Set("user_tags", string(b))
	return nil
}

func (p *publisher) create(ctx context.Context, q url.Values, field string) (string, error) {
	var res struct {
		ID string `json:"id"`
	}
	if err := p.g.call(ctx, http.MethodPost, "/"+url.PathEscape(p.user)+"/media", q, &res); err != nil {
		return "", withField(err, field)
	}
	if res.ID == "" {
		return "", plugin.Transient(errors.New("instagram: media container created without an id"))
	}
	return res.ID, nil
}

// containerStatus is GET /{container-id}?fields=status_code,status.
type containerStatus struct {
	StatusCode string `json:"status_code"`
	Status     string `json:"status"`
}

func (p *publisher) status(ctx context.Context, id string) (containerStatus, error) {
	var cs containerStatus
	err := p.g.call(ctx, http.MethodGet, "/"+url.PathEscape(id), url.Values{"fields": {"status_code,status"}}, &cs)
	return cs, err
}

// await polls a container until it is FINISHED, with a doubling wait bounded by the call's
// deadline. A container still in progress at the deadline fails the call as transient; the
// retry resumes polling the same container.
func (p *publisher) await(ctx context.Context, id, field string) error {
	interval := p.interval
	for polls := 1; ; polls++ {
		cs, err := p.status(ctx, id)
		if err != nil {
			return err
		}
		switch cs.StatusCode {
		case "FINISHED", "PUBLISHED":
			return nil
		case "ERROR":
			p.forget(ctx)
			return plugin.InvalidInput(field, fmt.Errorf("instagram: container %s could not be processed: %s", id, cs.Status))
		case "EXPIRED":
			// A container lives 24 hours; the retry creates new ones.
			p.forget(ctx)
			return plugin.Transient(fmt.Errorf("instagram: container %s expired before it was published", id))
		}
		if time.Now().Add(interval).After(p.deadline) {
			return &plugin.Error{Kind: abi.KindTransient, RetryAfter: resumeAfter,
				Err: fmt.Errorf("instagram: container %s still %s after %d status reads; a retry resumes it", id, cs.StatusCode, polls)}
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return plugin.Transient(ctx.Err())
		case <-t.C:
		}
		interval = min(2*interval, maxPollInterval)
	}
}

// forget drops the saved containers after one failed for good, so that a replay of the
// step starts afresh.
func (p *publisher) forget(ctx context.Context) {
	p.st = publishState{}
	_ = p.save(ctx)
}

// recover looks for the post an earlier attempt published when its answer was lost: if the
// container is PUBLISHED, the account's newest media since the attempt with the same
// caption is it.
func (p *publisher) recover(ctx context.Context) (bool, error) {
	cs, err := p.status(ctx, p.st.Container)
	if err != nil {
		return false, err
	}
	if cs.StatusCode != "PUBLISHED" {
		return false, nil
	}
	var list struct {
		Data []struct {
			ID        string `json:"id"`
			Caption   string `json:"caption"`
			Timestamp string `json:"timestamp"`
		} `json:"data"`
	}
	q := url.Values{"fields": {"id,caption,timestamp"}, "since": {strconv.FormatInt(p.st.PublishStarted-60, 10)}, "limit": {"50"}}
	if err := p.g.call(ctx, http.MethodGet, "/"+url.PathEscape(p.user)+"/media", q, &list); err != nil {
		return false, err
	}
	var ids []string
	for _, m := range list.Data {
		if m.Caption == p.caption {
			ids = append(ids, m.ID)
		}
	}
	if len(ids) != 1 {
		sort.Strings(ids)
		return false, plugin.Permanent(fmt.Errorf("instagram: container %s was published by an earlier attempt whose answer was lost, and %d recent posts match its caption (%v); not publishing again", p.st.Container, len(ids), ids))
	}
	p.st.MediaID = ids[0]
	return true, p.save(ctx)
}

// finish reads the published media back and builds the output.
func (p *publisher) finish(ctx context.Context, resumed bool) (PublishOut, error) {
	var m struct {
		ID            string `json:"id"`
		Permalink     string `json:"permalink"`
		Shortcode     string `json:"shortcode"`
		Timestamp     string `json:"timestamp"`
		MediaType     string `json:"media_type"`
		LikeCount     int64  `json:"like_count"`
		CommentsCount int64  `json:"comments_count"`
	}
	q := url.Values{"fields": {"id,permalink,shortcode,timestamp,media_type,like_count,comments_count"}}
	if err := p.g.call(ctx, http.MethodGet, "/"+url.PathEscape(p.st.MediaID), q, &m); err != nil {
		return PublishOut{}, fmt.Errorf("published %s, reading it back: %w", p.st.MediaID, err)
	}
	if p.st.Permalink == "" {
		p.st.Permalink, p.st.Shortcode, p.st.MediaType = m.Permalink, m.Shortcode, m.MediaType
		if t, ok := parseTime(m.Timestamp); ok {
			p.st.PublishedAt = t.UTC().Format(time.RFC3339)
		} else {
			p.st.PublishedAt = time.Now().UTC().Format(time.RFC3339)
		}
		if err := p.save(ctx); err != nil {
			return PublishOut{}, err
		}
	}
	postType := map[string]string{"image": "photo", "carousel": "carousel", "reel": "reel"}[kind(p.in)]
	return PublishOut{
		Platform: "instagram", PostID: p.st.MediaID, MediaID: p.st.MediaID, ContainerID: p.st.Container,
		Permalink: p.st.Permalink, Shortcode: p.st.Shortcode, PostType: postType, MediaType: p.st.MediaType,
		ContentID: p.in.ContentID, PublishedAt: p.st.PublishedAt, Resumed: resumed,
		EngagementMetrics: Engagement{InitialLikes: m.LikeCount, InitialComments: m.CommentsCount},
	}, nil
}
