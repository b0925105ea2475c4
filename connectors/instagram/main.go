// Command instagram is aquahub's Instagram connector, a WASI reactor module built with
// sdk/plugin: media.publish (image, carousel or reel through media containers),
// insights.get and publishing_limit.get against the Instagram Graph API (or its simulator in
// ./sim). See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/aquascene/aquahub/sdk/abi"
	"github.com/aquascene/aquahub/sdk/plugin"
)

// Item is one image or video of a carousel.
type Item struct {
	ImageURL string `json:"image_url,omitempty" desc:"public JPEG URL" jsonschema:"format=uri"`
	VideoURL string `json:"video_url,omitempty" desc:"public MP4 or MOV URL" jsonschema:"format=uri"`
	AltText  string `json:"alt_text,omitempty"`
}

// UserTag tags an Instagram user on an image at x, y (0 to 1 from the top left).
type UserTag struct {
	Username string  `json:"username" jsonschema:"minLength=1"`
	X        float64 `json:"x" jsonschema:"minimum=0,maximum=1"`
	Y        float64 `json:"y" jsonschema:"minimum=0,maximum=1"`
}

// PublishIn is the input of media.publish.
type PublishIn struct {
	IGUserID string `json:"ig_user_id,omitempty" desc:"Instagram professional account id (default: config ig_user_id)"`
	Type     string `json:"type,omitempty" desc:"image, carousel or reel (default: carousel when items are given, reel when video_url is, else image)" jsonschema:"enum=image|carousel|reel"`
	ImageURL string `json:"image_url,omitempty" desc:"image: public JPEG URL" jsonschema:"format=uri"`
	VideoURL string `json:"video_url,omitempty" desc:"reel: public MP4 or MOV URL" jsonschema:"format=uri"`
	Items    []Item `json:"items,omitempty" desc:"carousel: 2 to 10 images or videos" jsonschema:"maxItems=10"`
	Caption  string `json:"caption,omitempty" desc:"at most 2,200 characters, 30 hashtags and 20 @mentions, hashtags included"`
	// Hashtags are appended to the caption after a blank line, as "#a #b".
	Hashtags      []string  `json:"hashtags,omitempty" desc:"appended to the caption as #tag words"`
	AltText       string    `json:"alt_text,omitempty" desc:"image: alternative text"`
	LocationID    string    `json:"location_id,omitempty" desc:"Facebook Page id of a location"`
	UserTags      []UserTag `json:"user_tags,omitempty" desc:"image and reel: users to tag" jsonschema:"maxItems=20"`
	Collaborators []string  `json:"collaborators,omitempty" desc:"usernames invited as collaborators" jsonschema:"maxItems=3"`
	CoverURL      string    `json:"cover_url,omitempty" desc:"reel: cover image URL" jsonschema:"format=uri"`
	ShareToFeed   *bool     `json:"share_to_feed,omitempty" desc:"reel: also show it in the feed (Instagram's default: true)"`
	ThumbOffset   int       `json:"thumb_offset,omitempty" desc:"reel: cover frame offset in milliseconds" jsonschema:"minimum=0"`
	ContentID     string    `json:"content_id,omitempty" desc:"the hub's content id, passed through to the output"`
}

// Engagement is the engagement at publish time, in the shape of the social.posted event.
type Engagement struct {
	InitialLikes    int64 `json:"initial_likes"`
	InitialComments int64 `json:"initial_comments"`
	InitialShares   int64 `json:"initial_shares"`
}

// PublishOut is the output of media.publish: everything a rule needs to emit social.posted.
type PublishOut struct {
	Platform    string `json:"platform"`
	PostID      string `json:"post_id" desc:"the published IG media id"`
	MediaID     string `json:"media_id"`
	ContainerID string `json:"container_id"`
	Permalink   string `json:"permalink"`
	Shortcode   string `json:"shortcode,omitempty"`
	PostType    string `json:"post_type" desc:"photo, carousel or reel"`
	MediaType   string `json:"media_type,omitempty" desc:"Graph's media_type: IMAGE, CAROUSEL_ALBUM or VIDEO"`
	ContentID   string `json:"content_id,omitempty"`
	PublishedAt string `json:"published_at" desc:"RFC 3339"`
	// EngagementMetrics are the likes and comments the post had when it was read back.
	EngagementMetrics Engagement `json:"engagement_metrics"`
	// Resumed is set when an earlier attempt of the same step had already published it.
	Resumed bool `json:"resumed,omitempty"`
}

// InsightsIn is the input of insights.get.
type InsightsIn struct {
	MediaID    string   `json:"media_id,omitempty" desc:"media insights of this IG media id; account insights when empty"`
	IGUserID   string   `json:"ig_user_id,omitempty" desc:"account insights: the account (default: config ig_user_id)"`
	Metrics    []string `json:"metrics" desc:"current metric names (reach, views, likes, comments, saved, shares, total_interactions, …)" jsonschema:"minItems=1,maxItems=30"`
	Period     string   `json:"period,omitempty" desc:"account insights: day (default), week, days_28 or lifetime" jsonschema:"enum=day|week|days_28|lifetime"`
	MetricType string   `json:"metric_type,omitempty" desc:"account insights: total_value (default) or time_series" jsonschema:"enum=total_value|time_series"`
	Since      int64    `json:"since,omitempty" desc:"account insights: Unix seconds"`
	Until      int64    `json:"until,omitempty" desc:"account insights: Unix seconds"`
	Breakdown  string   `json:"breakdown,omitempty"`
}

// Value is one value of an insight.
type Value struct {
	Value   any    `json:"value"`
	EndTime string `json:"end_time,omitempty"`
}

// Insight is one metric as Graph returns it.
type Insight struct {
	Name        string  `json:"name"`
	Period      string  `json:"period"`
	Title       string  `json:"title,omitempty"`
	Description string  `json:"description,omitempty"`
	Values      []Value `json:"values,omitempty"`
	TotalValue  *Value  `json:"total_value,omitempty"`
	ID          string  `json:"id,omitempty"`
}

// InsightsOut is the output of insights.get.
type InsightsOut struct {
	Target string `json:"target" desc:"media or account"`
	ID     string `json:"id"`
	// Metrics maps each metric to its number: the total value, or the last value of a
	// series.
	Metrics map[string]float64 `json:"metrics"`
	Data    []Insight          `json:"data"`
}

// LimitIn is the input of publishing_limit.get.
type LimitIn struct {
	IGUserID string `json:"ig_user_id,omitempty" desc:"default: config ig_user_id"`
}

// LimitOut is the output of publishing_limit.get.
type LimitOut struct {
	QuotaUsage    int `json:"quota_usage" desc:"posts published through the API in the rolling window"`
	QuotaTotal    int `json:"quota_total"`
	QuotaDuration int `json:"quota_duration" desc:"window in seconds"`
	Remaining     int `json:"remaining"`
}

// Connector is the Instagram connector; plugintest runs it natively in tests.
var Connector = &plugin.Connector{
	ID: "instagram", Version: "1.0.0",
	Description: "Instagram Graph API: publish images, carousels and reels; media and account insights; the publishing limit.",
	Config: []plugin.ConfigSpec{
		{Name: "base_url", Description: "Graph API base with version (https://graph.instagram.com/v25.0 for Instagram Login; the simulator's in development)", Default: defaultBaseURL},
		{Name: "ig_user_id", Description: "the Instagram professional account id actions use when they name none"},
		{Name: "poll_interval", Description: "first wait between container status reads, doubling to 8 s (Go duration)", Default: "1s"},
		{Name: "publish_wait", Description: "how long media.publish waits for a container inside one call before handing over to a retry (Go duration; keep it under the hub's call timeout)", Default: "25s"},
	},
	Secrets: []plugin.SecretSpec{{Name: "access_token", Description: "user or system-user access token with instagram_basic, instagram_content_publish and instagram_manage_insights", Required: true,
		Places: []plugin.SecretPlace{{Query: "access_token"}}}},
	Egress: []string{"https://graph.facebook.com", "https://graph.instagram.com"},
	Actions: []plugin.Handler{
		plugin.Action[PublishIn, PublishOut]{Name: "media.publish", Description: "Publish an image, carousel or reel: create the container(s), wait until FINISHED, publish, read back the permalink. Resumable and never published twice.", Handle: publish},
		plugin.Action[InsightsIn, InsightsOut]{Name: "insights.get", Description: "Media or account insights with current metric names.", Handle: insights},
		plugin.Action[LimitIn, LimitOut]{Name: "publishing_limit.get", Description: "The account's content publishing quota for the rolling 24 hours.", Handle: publishingLimit},
	},
}

func init() { plugin.Main(Connector) }

func main() {}

func userOf(ctx context.Context, id string) (string, error) {
	if id == "" {
		id = plugin.ConfigString(ctx, "ig_user_id", "")
	}
	if id == "" {
		return "", plugin.InvalidInput("ig_user_id", errors.New("no ig_user_id given and none configured"))
	}
	return id, nil
}

// deprecatedMetrics maps metric names Graph API v22.0 and later refuse onto their
// replacements, so that a rule fails with a clear message before any call.
var deprecatedMetrics = map[string]string{
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

func insights(ctx context.Context, in InsightsIn) (InsightsOut, error) {
	for i, m := range in.Metrics {
		if repl, ok := deprecatedMetrics[m]; ok {
			why := "is deprecated since Graph API v22.0"
			if m == "impressions" {
				why = "is not available for media created after 2 July 2024 and deprecated since Graph API v22.0"
			}
			return InsightsOut{}, plugin.InvalidInput(fmt.Sprintf("metrics[%d]", i), fmt.Errorf("%s %s; use %s", m, why, repl))
		}
		if strings.TrimSpace(m) == "" || strings.Contains(m, ",") {
			return InsightsOut{}, plugin.InvalidInput(fmt.Sprintf("metrics[%d]", i), fmt.Errorf("not a metric name: %q", m))
		}
	}
	q := url.Values{"metric": {strings.Join(in.Metrics, ",")}}
	if in.Breakdown != "" {
		q.Set("breakdown", in.Breakdown)
	}
	out := InsightsOut{Target: "media", ID: in.MediaID, Metrics: map[string]float64{}}
	path := "/" + url.PathEscape(in.MediaID) + "/insights"
	if in.MediaID == "" {
		user, err := userOf(ctx, in.IGUserID)
		if err != nil {
			return InsightsOut{}, err
		}
		out.Target, out.ID, path = "account", user, "/"+url.PathEscape(user)+"/insights"
		period, kind := in.Period, in.MetricType
		if period == "" {
			period = "day"
		}
		if kind == "" {
			kind = "total_value"
		}
		q.Set("period", period)
		q.Set("metric_type", kind)
		if in.Since > 0 {
			q.Set("since", strconv.FormatInt(in.Since, 10))
		}
		if in.Until > 0 {
			q.Set("until", strconv.FormatInt(in.Until, 10))
		}
	}
	var resp struct {
		Data []Insight `json:"data"`
	}
	if err := newGraph(ctx).call(ctx, http.MethodGet, path, q, &resp); err != nil {
		return InsightsOut{}, withField(err, "metrics")
	}
	out.Data = resp.Data
	if out.Data == nil {
		out.Data = []Insight{}
	}
	for _, d := range resp.Data {
		v := d.TotalValue
		if v == nil && len(d.Values) > 0 {
			v = &d.Values[len(d.Values)-1]
		}
		if v == nil {
			continue
		}
		if n, ok := v.Value.(float64); ok {
			out.Metrics[d.Name] = n
		}
	}
	return out, nil
}

// limit is one answer of content_publishing_limit.
type limit struct {
	Data []struct {
		QuotaUsage int `json:"quota_usage"`
		Config     struct {
			QuotaTotal    int `json:"quota_total"`
			QuotaDuration int `json:"quota_duration"`
		} `json:"config"`
	} `json:"data"`
}

func readLimit(ctx context.Context, g *graph, user string) (LimitOut, error) {
	var l limit
	if err := g.call(ctx, http.MethodGet, "/"+url.PathEscape(user)+"/content_publishing_limit", url.Values{"fields": {"quota_usage,config"}}, &l); err != nil {
		return LimitOut{}, err
	}
	if len(l.Data) == 0 {
		return LimitOut{}, plugin.Transient(errors.New("instagram: content_publishing_limit answered no data"))
	}
	d := l.Data[0]
	out := LimitOut{QuotaUsage: d.QuotaUsage, QuotaTotal: d.Config.QuotaTotal, QuotaDuration: d.Config.QuotaDuration}
	if out.QuotaTotal == 0 {
		out.QuotaTotal, out.QuotaDuration = 50, 86400
	}
	out.Remaining = max(0, out.QuotaTotal-out.QuotaUsage)
	return out, nil
}

func publishingLimit(ctx context.Context, in LimitIn) (LimitOut, error) {
	user, err := userOf(ctx, in.IGUserID)
	if err != nil {
		return LimitOut{}, err
	}
	return readLimit(ctx, newGraph(ctx), user)
}

// withField names the input field of an invalid_input error that has none.
func withField(err error, field string) error {
	var pe *plugin.Error
	if errors.As(err, &pe) && pe.Kind == abi.KindInvalidInput && pe.Field == "" {
		c := *pe
		c.Field = field
		return &c
	}
	return err
}
