package registrygate

import (
	"encoding/json"
	"regexp"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

// manifestPath matches /v2/<name>/manifests/<reference> as the OCI
// distribution spec writes it; the name is checked separately.
var manifestPath = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^/v2/(.+)/manifests/([^/]+)$`) })

// repoName is the distribution spec's repository name grammar.
var repoName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$`)
})

// digestRef is a reference that is a digest rather than a tag.
var digestRef = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^sha256:[a-f0-9]{64}$`) })

// parseManifestPath splits a manifest URL path into repository and
// reference; ok is false for any other path.
func parseManifestPath(p string) (repo, ref string, ok bool) {
	m := manifestPath().FindStringSubmatch(p)
	if m == nil || len(m[1]) > 255 || !repoName().MatchString(m[1]) {
		return "", "", false
	}
	return m[1], m[2], true
}

// manifestMediaTypes are the manifest and index media types a registry
// event may name; every other target of a push event is a blob.
var manifestMediaTypes = map[string]bool{
	string(types.OCIManifestSchema1):          true,
	string(types.OCIImageIndex):               true,
	string(types.DockerManifestSchema2):       true,
	string(types.DockerManifestList):          true,
	string(types.DockerManifestSchema1):       true,
	string(types.DockerManifestSchema1Signed): true,
}

// layerMediaTypes are the media types of a filesystem layer: a manifest
// whose layers are all of these (and whose config is an image config) is a
// container image someone can run.
func isFilesystemLayer(mt string) bool {
	switch types.MediaType(mt) {
	case types.DockerLayer, types.DockerForeignLayer, types.DockerUncompressedLayer,
		types.OCILayer, types.OCILayerZStd, types.OCIUncompressedLayer,
		types.OCIRestrictedLayer, types.OCIUncompressedRestrictedLayer:
		return true
	}
	return strings.HasPrefix(mt, "application/vnd.oci.image.layer.") && strings.Contains(mt, "tar")
}

// manifestShape is what kind classification reads of a manifest or index.
type manifestShape struct {
	MediaType    string `json:"mediaType"`
	ArtifactType string `json:"artifactType"`
	Config       *struct {
		MediaType string `json:"mediaType"`
	} `json:"config"`
	Layers []struct {
		MediaType string `json:"mediaType"`
	} `json:"layers"`
	Manifests []struct {
		MediaType    string            `json:"mediaType"`
		ArtifactType string            `json:"artifactType"`
		Annotations  map[string]string `json:"annotations"`
		Platform     *struct {
			OS           string `json:"os"`
			Architecture string `json:"architecture"`
		} `json:"platform"`
	} `json:"manifests"`
	SchemaVersion int `json:"schemaVersion"`
}

// kind is what a manifest is to the gate.
type kind int

const (
	// kindImage is a runnable image or an index with at least one.
	kindImage kind = iota
	// kindArtifact is a signature, SBOM, attestation, Helm chart or any
	// other OCI artifact: nothing runs it, so it passes unjudged.
	kindArtifact
	// kindUnknown is not a manifest the gate understands; the registry
	// judges its validity.
	kindUnknown
)

// classify tells a runnable image from an artifact by media types, as a
// registry client would: an artifactType, a config that is not an image
// config, or a layer that is not a filesystem layer (a cosign signature's
// simplesigning layer under an image config) make an artifact; an index
// whose every entry is an artifact or a BuildKit attestation is one too.
func classify(raw []byte) kind {
	var m manifestShape
	if err := json.Unmarshal(raw, &m); err != nil {
		return kindUnknown
	}
	if m.ArtifactType != "" {
		return kindArtifact
	}
	mt := types.MediaType(m.MediaType)
	switch {
	case mt.IsIndex() || (mt == "" && m.Manifests != nil):
		for _, c := range m.Manifests {
			attestation := c.Annotations["vnd.docker.reference.type"] == "attestation-manifest" ||
				(c.Platform != nil && c.Platform.OS == "unknown" && c.Platform.Architecture == "unknown")
			if c.ArtifactType == "" && !attestation {
				return kindImage
			}
		}
		return kindArtifact
	case mt.IsSchema1() || m.SchemaVersion == 1:
		// Old Docker images: judged, and refused as unsupported.
		return kindImage
	case m.Config == nil:
		return kindUnknown
	}
	if !types.MediaType(m.Config.MediaType).IsConfig() {
		return kindArtifact
	}
	for _, l := range m.Layers {
		if !isFilesystemLayer(l.MediaType) {
			return kindArtifact
		}
	}
	return kindImage
}
