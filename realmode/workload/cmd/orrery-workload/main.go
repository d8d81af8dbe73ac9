// Command orrery-workload is the one program of Orrery's real-mode image: it reads its
// Spec from the ORRERY_WORKLOAD environment variable and follows it until it exits or is
// killed. Build it static: CGO_ENABLED=0 go build.
package main

import (
	"fmt"
	"os"

	"github.com/orrery-sim/orrery/realmode/workload"
)

func main() {
	spec, err := workload.Decode(os.Getenv(workload.EnvSpec))
	if err != nil {
		fmt.Fprintln(os.Stderr, "orrery-workload:", err)
		os.Exit(2)
	}
	exit := func(code int) {
		fmt.Printf("orrery-workload: exiting with %d\n", code)
		os.Exit(code)
	}
	if _, err := workload.Run(spec, exit); err != nil {
		fmt.Fprintln(os.Stderr, "orrery-workload:", err)
		os.Exit(2)
	}
	fmt.Println("orrery-workload: started")
	select {}
}
