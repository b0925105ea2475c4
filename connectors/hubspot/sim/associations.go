package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"

	"github.com/aquascene/aquahub/connectors/simkit"
)

// AssociationType is one type of a link between two records.
type AssociationType struct {
	Category string  `json:"category"`
	TypeID   int     `json:"typeId"`
	Label    *string `json:"label"`
}

type assocKey struct {
	fromType, fromID, toType, toID string
}

type link struct {
	toID  string
	types []AssociationType
}

// hubspotDefined lists HubSpot's own association type ids per direction: the default one
// first, then primary-company and other built-in labels.
var hubspotDefined = map[[2]string][]int{
	{"contacts", "companies"}: {279, 1},
	{"companies", "contacts"}: {280, 2},
	{"contacts", "deals"}:     {4},
	{"deals", "contacts"}:     {3},
	{"companies", "deals"}:    {342, 6},
	{"deals", "companies"}:    {341, 5},
	{"contacts", "contacts"}:  {449},
}

// reverseType is the type id of the same link seen from the other side.
var reverseType = map[int]int{279: 280, 280: 279, 1: 2, 2: 1, 4: 3, 3: 4, 342: 341, 341: 342, 6: 5, 5: 6, 449: 449}

// linksFrom lists the records of type to linked from (t, id); the caller holds s.mu.
func (s *Server) linksFrom(t *objectType, id string, to *objectType) []link {
	var out []link
	for k, types := range s.assocs {
		if k.fromType == t.name && k.fromID == id && k.toType == to.name {
			out = append(out, link{toID: k.toID, types: types})
		}
	}
	sort.Slice(out, func(i, j int) bool { return idLess(out[i].toID, out[j].toID) })
	return out
}

func (s *Server) associate(from, to *objectType, fromID, toID string, typ AssociationType) {
	add := func(k assocKey, t AssociationType) {
		if !slices.ContainsFunc(s.assocs[k], func(x AssociationType) bool { return x.TypeID == t.TypeID && x.Category == t.Category }) {
			s.assocs[k] = append(s.assocs[k], t)
		}
	}
	add(assocKey{from.name, fromID, to.name, toID}, typ)
	rev := typ
	if r, ok := reverseType[typ.TypeID]; ok && typ.Category == "HUBSPOT_DEFINED" {
		rev.TypeID = r
	}
	add(assocKey{to.name, toID, from.name, fromID}, rev)
}

// serveAssociations serves the v4 association endpoints under
// /crm/v4/objects/{fromType}/{fromId}/associations/.
func (s *Server) serveAssociations(w http.ResponseWriter, r *http.Request, segs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(segs) < 4 || segs[2] != "associations" {
		noRoute(w, r)
		return
	}
	from := s.lookupType(segs[0])
	fromID := segs[1]
	rest := segs[3:]
	isDefault := len(rest) == 3 && rest[0] == "default"
	if isDefault {
		rest = rest[1:]
	}
	to := s.lookupType(rest[0])
	if from == nil || to == nil {
		validationError(w, fmt.Sprintf("Unknown object type in %s", r.URL.Path))
		return
	}
	if fr := from.byID[fromID]; fr == nil || fr.archived {
		notFound(w, fromID)
		return
	}
	pair := [2]string{from.name, to.name}
	switch {
	case len(rest) == 1 && r.Method == http.MethodGet:
		type result struct {
			ToObjectID       int64             `json:"toObjectId"`
			AssociationTypes []AssociationType `json:"associationTypes"`
		}
		out := []result{}
		for _, l := range s.linksFrom(from, fromID, to) {
			id, _ := strconv.ParseInt(l.toID, 10, 64)
			out = append(out, result{ToObjectID: id, AssociationTypes: l.types})
		}
		simkit.WriteJSON(w, http.StatusOK, map[string]any{"results": out})
	case len(rest) == 2 && r.Method == http.MethodPut:
		toID := rest[1]
		if tr := to.byID[toID]; tr == nil || tr.archived {
			notFound(w, toID)
			return
		}
		if isDefault {
			ids := hubspotDefined[pair]
			if len(ids) == 0 {
				validationError(w, fmt.Sprintf("No default association from %s to %s", from.name, to.name))
				return
			}
			typ := AssociationType{Category: "HUBSPOT_DEFINED", TypeID: ids[0]}
			s.associate(from, to, fromID, toID, typ)
			now := stamp(s.now())
			spec := func(a, b string, id int) map[string]any {
				return map[string]any{"from": map[string]string{"id": a}, "to": map[string]string{"id": b},
					"associationSpec": map[string]any{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": id}}
			}
			simkit.WriteJSON(w, http.StatusOK, map[string]any{"status": "COMPLETE", "startedAt": now, "completedAt": now,
				"results": []any{spec(fromID, toID, ids[0]), spec(toID, fromID, reverseType[ids[0]])}})
			return
		}
		var specs []struct {
			AssociationCategory string `json:"associationCategory"`
			AssociationTypeID   int    `json:"associationTypeId"`
		}
		if err := json.NewDecoder(r.Body).Decode(&specs); err != nil || len(specs) == 0 {
			validationError(w, "body must be a non-empty array of {associationCategory, associationTypeId}")
			return
		}
		for _, sp := range specs {
			if sp.AssociationCategory != "HUBSPOT_DEFINED" || !slices.Contains(hubspotDefined[pair], sp.AssociationTypeID) {
				validationError(w, fmt.Sprintf("association type %s/%d is not defined from %s to %s", sp.AssociationCategory, sp.AssociationTypeID, from.name, to.name),
					errorDetail{Message: "invalid association type", In: "associationTypeId"})
				return
			}
		}
		for _, sp := range specs {
			s.associate(from, to, fromID, toID, AssociationType{Category: sp.AssociationCategory, TypeID: sp.AssociationTypeID})
		}
		fid, _ := strconv.ParseInt(fromID, 10, 64)
		tid, _ := strconv.ParseInt(toID, 10, 64)
		simkit.WriteJSON(w, http.StatusCreated, map[string]any{"fromObjectTypeId": from.typeID, "fromObjectId": fid,
			"toObjectTypeId": to.typeID, "toObjectId": tid, "labels": []string{}})
	case len(rest) == 2 && r.Method == http.MethodDelete && !isDefault:
		delete(s.assocs, assocKey{from.name, fromID, to.name, rest[1]})
		delete(s.assocs, assocKey{to.name, rest[1], from.name, fromID})
		w.WriteHeader(http.StatusNoContent)
	default:
		noRoute(w, r)
	}
}
