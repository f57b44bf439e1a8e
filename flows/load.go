package flows

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
)

//go:embed default/*.yaml
var defaultFiles embed.FS

// Default returns the flows shipped with the bot. A deployment points
// FLOWS_DIR at a folder of its own (os.DirFS) to change the form without
// touching Go.
func Default() fs.FS {
	sub, err := fs.Sub(defaultFiles, "default")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

// FAQFile is the name of the FAQ file inside a flows folder; every other
// *.yaml file there is a flow.
const FAQFile = "faq.yaml"

// SignupFlow is the ID of the interest form the bot offers in its menu.
const SignupFlow = "signup"

// Load reads every flow (*.yaml except faq.yaml) in fsys. It returns all
// problems of all files together.
func Load(fsys fs.FS) (map[string]*Flow, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("list flows: %w", err)
	}
	sort.Strings(names)
	out := map[string]*Flow{}
	var ps Problems
	for _, name := range names {
		if name == FAQFile {
			continue
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read flow: %w", err)
		}
		f, err := ParseFlow(data, name)
		if err != nil {
			ps = append(ps, AsProblems(err, name)...)
			continue
		}
		if prev, dup := out[f.ID]; dup {
			ps = append(ps, Problem{File: name, Line: f.Line, Msg: fmt.Sprintf("flow id %q is already used by %s", f.ID, prev.File)})
			continue
		}
		out[f.ID] = f
	}
	if _, ok := out[SignupFlow]; !ok && len(ps) == 0 {
		ps = append(ps, Problem{File: path.Join(".", "*.yaml"), Msg: fmt.Sprintf("no flow with id %q: the bot needs its interest form", SignupFlow)})
	}
	if len(ps) > 0 {
		return nil, ps
	}
	return out, nil
}

// ErrNoFlow is returned when a flow the bot needs is not loaded.
var ErrNoFlow = errors.New("flow not found")
