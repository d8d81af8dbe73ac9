// Package image makes real mode's one container image: it builds the static workload
// program (realmode/workload/cmd/orrery-workload) and packs it as an OCI image-layout
// tarball with the standard library alone, ready for containerd's import. No registry is
// ever contacted.
package image

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"
)

// Name is the reference the workload image is imported as.
const Name = "orrery.local/workload:v1"

// Entrypoint is where the workload binary sits in the image.
const Entrypoint = "/orrery-workload"

// Media types of the image's parts.
const (
	mediaManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaConfig   = "application/vnd.oci.image.config.v1+json"
	mediaLayer    = "application/vnd.oci.image.layer.v1.tar"
)

// mtime is every file's modification time, so that one binary always gives one digest.
var mtime = time.Unix(0, 0)

// descriptor is an OCI content descriptor.
type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// blob is one piece of content and its descriptor.
type blob struct {
	desc descriptor
	data []byte
}

func newBlob(media string, data []byte) blob {
	sum := sha256.Sum256(data)
	return blob{desc: descriptor{MediaType: media, Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(data))}, data: data}
}

// Layer returns the image's one layer: an uncompressed tar of the usual mount points and
// the binary at Entrypoint.
func Layer(binary []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"dev/", "etc/", "proc/", "sys/", "tmp/"} {
		mode := int64(0o755)
		if d == "tmp/" {
			mode = 0o1777
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: mode, ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(Entrypoint, "/"), Mode: 0o755, Size: int64(len(binary)), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(binary); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteOCI writes an OCI image-layout tarball of the binary, named name (its
// io.containerd.image.name annotation, which containerd's import takes as the image's
// name).
func WriteOCI(w io.Writer, binary []byte, name string) error {
	layerData, err := Layer(binary)
	if err != nil {
		return fmt.Errorf("image layer: %w", err)
	}
	layer := newBlob(mediaLayer, layerData)
	cfg := map[string]any{
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"created":      mtime.UTC().Format(time.RFC3339),
		"config":       map[string]any{"Entrypoint": []string{Entrypoint}, "Env": []string{"PATH=/"}},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{layer.desc.Digest}},
	}
	cfgData, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	config := newBlob(mediaConfig, cfgData)
	manData, err := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": mediaManifest, "config": config.desc, "layers": []descriptor{layer.desc}})
	if err != nil {
		return err
	}
	manifest := newBlob(mediaManifest, manData)
	tag := name[strings.LastIndex(name, ":")+1:]
	idxDesc := manifest.desc
	idxDesc.Annotations = map[string]string{"io.containerd.image.name": name, "org.opencontainers.image.ref.name": tag}
	index, err := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []descriptor{idxDesc}})
	if err != nil {
		return err
	}

	tw := tar.NewWriter(w)
	file := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return fmt.Errorf("write image: %w", err)
		}
	}
	if err := file("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return fmt.Errorf("write image: %w", err)
	}
	for _, b := range []blob{layer, config, manifest} {
		if err := file("blobs/sha256/"+strings.TrimPrefix(b.desc.Digest, "sha256:"), b.data); err != nil {
			return fmt.Errorf("write image: %w", err)
		}
	}
	if err := file("index.json", index); err != nil {
		return fmt.Errorf("write image: %w", err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write image: %w", err)
	}
	return nil
}
