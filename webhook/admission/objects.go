package admission

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// workloadKinds are the objects judged: the API group of each kind and
// where it keeps its pod spec. They match engine/input/kubernetes.
var workloadKinds = map[string]struct {
	group string
	path  []string
}{
	"Pod":                   {"", []string{"spec"}},
	"ReplicationController": {"", []string{"spec", "template", "spec"}},
	"Deployment":            {"apps", []string{"spec", "template", "spec"}},
	"ReplicaSet":            {"apps", []string{"spec", "template", "spec"}},
	"StatefulSet":           {"apps", []string{"spec", "template", "spec"}},
	"DaemonSet":             {"apps", []string{"spec", "template", "spec"}},
	"Job":                   {"batch", []string{"spec", "template", "spec"}},
	"CronJob":               {"batch", []string{"spec", "jobTemplate", "spec", "template", "spec"}},
}

// containerLists are the pod spec's lists of containers.
var containerLists = []string{"initContainers", "containers", "ephemeralContainers"}

// podSpec returns the pod spec of obj, a decoded object of kind, and its
// field path ("spec.template.spec"); nil when it has none.
func podSpec(kind string, obj map[string]any) (map[string]any, string) {
	wk, ok := workloadKinds[kind]
	if !ok {
		return nil, ""
	}
	cur := obj
	for _, k := range wk.path {
		next, ok := cur[k].(map[string]any)
		if !ok {
			return nil, ""
		}
		cur = next
	}
	return cur, strings.Join(wk.path, ".")
}

// containerImage is one container's image and the field path it is at.
type containerImage struct {
	name, field, image string
}

// containerImages lists every container's image with its field path
// ("spec.containers[0].image"), in the pod spec's order.
func containerImages(kind string, obj map[string]any) []containerImage {
	spec, path := podSpec(kind, obj)
	var out []containerImage
	for _, list := range containerLists {
		items, _ := spec[list].([]any)
		for i, it := range items {
			c, _ := it.(map[string]any)
			name, _ := c["name"].(string)
			img, _ := c["image"].(string)
			out = append(out, containerImage{name: name, field: fmt.Sprintf("%s.%s[%d].image", path, list, i), image: img})
		}
	}
	return out
}

// objectFacts is what the webhook itself reads of a workload object (the
// rules read its kubernetes document): a function of the object's kind
// and raw JSON alone, so kept per raw object (policyState.objects) and
// shared, not to be changed.
type objectFacts struct {
	// name and generateName are the object's metadata.
	name, generateName string
	images             []containerImage
	// hasSpec: the object has a pod spec where its kind keeps one.
	hasSpec bool
	// pullSecrets are the names of its imagePullSecrets, in order;
	// serviceAccount its serviceAccountName.
	pullSecrets    []string
	serviceAccount string
}

// bytes estimates what the facts hold, for the objects cache's budget.
func (f *objectFacts) bytes() int64 {
	n := 64 + int64(len(f.name)+len(f.generateName)+len(f.serviceAccount)) + stringsBytes(f.pullSecrets)
	for _, c := range f.images {
		n += 48 + int64(len(c.name)+len(c.field)+len(c.image))
	}
	return n
}

// stringsBytes estimates what a list of strings holds.
func stringsBytes(list []string) int64 {
	n := int64(24)
	for _, s := range list {
		n += 16 + int64(len(s))
	}
	return n
}

// readObject decodes the raw JSON of an object of kind into its facts.
func readObject(kind string, raw []byte) (*objectFacts, error) {
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, err
	}
	f := &objectFacts{images: containerImages(kind, obj)}
	meta, _ := obj["metadata"].(map[string]any)
	f.name, _ = meta["name"].(string)
	f.generateName, _ = meta["generateName"].(string)
	if spec, _ := podSpec(kind, obj); spec != nil {
		f.hasSpec = true
		items, _ := spec["imagePullSecrets"].([]any)
		for _, it := range items {
			m, _ := it.(map[string]any)
			n, _ := m["name"].(string)
			f.pullSecrets = append(f.pullSecrets, n)
		}
		f.serviceAccount, _ = spec["serviceAccountName"].(string)
	}
	return f, nil
}

// judgedFields is what an UPDATE must change to be judged again: the pod's
// securityContext and, per container, its image, securityContext, command
// and args (the entrypoint rule reads them).
func judgedFields(kind string, obj map[string]any) any {
	spec, _ := podSpec(kind, obj)
	if spec == nil {
		return nil
	}
	out := map[string]any{"securityContext": spec["securityContext"]}
	for _, list := range containerLists {
		items, _ := spec[list].([]any)
		var cs []any
		for _, it := range items {
			c, _ := it.(map[string]any)
			cs = append(cs, []any{c["name"], c["image"], c["securityContext"], c["command"], c["args"]})
		}
		out[list] = cs
	}
	return out
}

// sameJudgedFields reports whether an UPDATE leaves every judged field as
// it was.
func sameJudgedFields(kind string, oldRaw, newRaw []byte) bool {
	var oldObj, newObj map[string]any
	if json.Unmarshal(oldRaw, &oldObj) != nil || json.Unmarshal(newRaw, &newObj) != nil {
		return false
	}
	o, n := judgedFields(kind, oldObj), judgedFields(kind, newObj)
	return o != nil && reflect.DeepEqual(o, n)
}
