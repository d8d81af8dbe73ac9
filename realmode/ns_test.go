package realmode_test

import (
	"context"

	"github.com/containerd/containerd/v2/pkg/namespaces"
)

func namespacesContext(ns string) context.Context {
	return namespaces.WithNamespace(context.Background(), ns)
}
