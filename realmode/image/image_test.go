package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteOCI(t *testing.T) {
	var a, b bytes.Buffer
	if err := WriteOCI(&a, []byte("binary"), Name); err != nil {
		t.Fatal(err)
	}
	if err := WriteOCI(&b, []byte("binary"), Name); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the same binary gave two different tarballs")
	}
	files := map[string][]byte{}
	tr := tar.NewReader(&a)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		files[h.Name] = data
	}
	for _, want := range []string{"oci-layout", "index.json", "blobs/sha256/"} {
		if _, ok := files[want]; !ok {
			t.Errorf("tarball lacks %s", want)
		}
	}
	var index struct {
		Manifests []descriptor `json:"manifests"`
	}
	if err := json.Unmarshal(files["index.json"], &index); err != nil {
		t.Fatal(err)
	}
	if len(index.Manifests) != 1 || index.Manifests[0].Annotations["io.containerd.image.name"] != Name {
		t.Fatalf("index.json = %s, want one manifest named %s", files["index.json"], Name)
	}
	man := files["blobs/sha256/"+index.Manifests[0].Digest[len("sha256:"):]]
	var m struct {
		Config descriptor   `json:"config"`
		Layers []descriptor `json:"layers"`
	}
	if err := json.Unmarshal(man, &m); err != nil {
		t.Fatalf("manifest blob: %v", err)
	}
	if len(m.Layers) != 1 || m.Layers[0].MediaType != mediaLayer {
		t.Fatalf("manifest layers %v, want one uncompressed layer", m.Layers)
	}
	layer := files["blobs/sha256/"+m.Layers[0].Digest[len("sha256:"):]]
	lr := tar.NewReader(bytes.NewReader(layer))
	found := false
	for {
		h, err := lr.Next()
		if err != nil {
			break
		}
		if "/"+h.Name == Entrypoint && h.Mode == 0o755 {
			found = true
		}
	}
	if !found {
		t.Fatalf("layer lacks an executable %s", Entrypoint)
	}
}

func TestBuildIsStatic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the workload")
	}
	src, err := FindSource(".")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), BinaryName)
	if err := Build(context.Background(), src, out); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// A dynamically linked ELF names its interpreter in a PT_INTERP segment.
	if bytes.Contains(data, []byte("/lib64/ld-linux")) || bytes.Contains(data, []byte("/lib/ld-")) {
		t.Fatal("the workload binary is dynamically linked")
	}
	if _, err := FindSource(os.TempDir()); err == nil {
		t.Fatal("FindSource found Orrery's source in the temporary folder")
	}
}
