package iam

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ferryhq/ferry/internal/testing/testtool"
)

// How an SDK call becomes an IAM action: the service's IAM prefix, then
// the operation's name, except where AWS authorises an operation under
// another action (the S3 user guide's "permissions for S3 API
// operations" table): HeadBucket and ListObjectsV2 are s3:ListBucket,
// HeadObject is s3:GetObject, GetBucketEncryption is
// s3:GetEncryptionConfiguration. A presigned GET is a GetObject by the
// signer, so PresignGetObject counts as GetObject (it is found through
// its GetObjectInput).
var sdkServices = map[string]string{
	"github.com/aws/aws-sdk-go-v2/service/ssm": "ssm",
	"github.com/aws/aws-sdk-go-v2/service/s3":  "s3",
	"github.com/aws/aws-sdk-go-v2/service/sts": "sts",
}

var actionOf = map[string]string{
	"s3:HeadBucket":          "s3:ListBucket",
	"s3:ListObjectsV2":       "s3:ListBucket",
	"s3:HeadObject":          "s3:GetObject",
	"s3:GetBucketEncryption": "s3:GetEncryptionConfiguration",
}

// botocoreService is botocore's directory of each IAM prefix's model.
var botocoreService = map[string]string{"ssm": "ssm", "s3": "s3", "sts": "sts"}

// pending are actions the deploy policy grants for a call the lead is
// wiring now (`ferry doctor` asks STS who it is): the test fails once the
// call exists, so that the entry is removed then.
var pending = map[string]string{}

// notFerrys are packages whose SDK calls are not ferry's deploying side:
// the emulators, which act as SSM and as the SSM Agent, and test helpers.
var notFerrys = []string{"internal/ssmemu", "internal/sandbox", "internal/testing"}

// moduleRoot is the checkout this test runs in.
func moduleRoot(t *testing.T) string {
	t.Helper()
	wd, _ := os.Getwd()
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no go.mod above %s", wd)
		}
	}
}

// sdkCalls reads every non-test Go file of ferry (outside notFerrys) and
// returns the SDK operations it uses, as service:Operation → where. Every
// SDK call takes its operation's XxxInput struct, so a reference to
// <ssm|s3|sts>.XxxInput, through whatever name the file imports the
// package as, is a call of Xxx; paginators take the same Input.
func sdkCalls(t *testing.T) map[string][]string {
	t.Helper()
	root := moduleRoot(t)
	calls := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "examples" {
				return filepath.SkipDir
			}
			for _, n := range notFerrys {
				if rel == n {
					return filepath.SkipDir
				}
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		names := map[string]string{} // local name → IAM prefix
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			svc, ok := sdkServices[path]
			if !ok {
				continue
			}
			name := filepath.Base(path)
			if imp.Name != nil {
				name = imp.Name.Name
			}
			names[name] = svc
		}
		if len(names) == 0 {
			return nil
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			x, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			svc, ok := names[x.Name]
			if !ok || !strings.HasSuffix(sel.Sel.Name, "Input") || sel.Sel.Name == "Input" {
				return true
			}
			op := svc + ":" + strings.TrimSuffix(sel.Sel.Name, "Input")
			where := rel + ":" + strconv.Itoa(fset.Position(sel.Pos()).Line)
			calls[op] = append(calls[op], where)
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return calls
}

// botocoreOperations lists each service's operations from the service
// models botocore ships (data/<service>/<version>/service-2.json, gzipped
// in recent releases), found through the Python on this machine: python3
// with botocore (pip's), else Debian's awscli, which vendors its own.
func botocoreOperations(t *testing.T) map[string]map[string]bool {
	t.Helper()
	var data string
	for _, c := range [][]string{
		{"python3", "-c", "import botocore,os;print(os.path.dirname(botocore.__file__))"},
		{"/usr/bin/python3", "-c", "import botocore,os;print(os.path.dirname(botocore.__file__))"},
		{"/usr/bin/python3", "-c", "import awscli.botocore as b,os;print(os.path.dirname(b.__file__))"},
	} {
		out, err := exec.Command(c[0], c[1:]...).Output()
		if err == nil {
			data = filepath.Join(strings.TrimSpace(string(out)), "data")
			break
		}
	}
	if data == "" {
		testtool.Missing(t, "botocore (Python)", "install awscli (apt-get install awscli, as .ci/run does) or pip install botocore")
	}
	ops := map[string]map[string]bool{}
	for prefix, dir := range botocoreService {
		versions, _ := filepath.Glob(filepath.Join(data, dir, "*"))
		sort.Strings(versions)
		if len(versions) == 0 {
			t.Fatalf("botocore at %s has no model of %s", data, dir)
		}
		latest := versions[len(versions)-1]
		b, err := os.ReadFile(filepath.Join(latest, "service-2.json"))
		if err != nil {
			gz, gerr := os.ReadFile(filepath.Join(latest, "service-2.json.gz"))
			if gerr != nil {
				t.Fatalf("botocore model of %s: %v", dir, err)
			}
			r, err := gzip.NewReader(bytes.NewReader(gz))
			if err != nil {
				t.Fatal(err)
			}
			if b, err = io.ReadAll(r); err != nil {
				t.Fatal(err)
			}
		}
		var model struct {
			Operations map[string]json.RawMessage `json:"operations"`
		}
		if err := json.Unmarshal(b, &model); err != nil {
			t.Fatalf("botocore model of %s: %v", dir, err)
		}
		ops[prefix] = map[string]bool{}
		for name := range model.Operations {
			ops[prefix][name] = true
		}
		t.Logf("botocore %s: %d operations (%s)", dir, len(ops[prefix]), latest)
	}
	return ops
}

func action(op string) string {
	if a, ok := actionOf[op]; ok {
		return a
	}
	return op
}

// exists says whether an IAM action is some operation's (through
// actionOf for the renamed ones).
func exists(ops map[string]map[string]bool, act string) bool {
	prefix, name, _ := strings.Cut(act, ":")
	if ops[prefix][name] {
		return true
	}
	for op, a := range actionOf {
		p, n, _ := strings.Cut(op, ":")
		if a == act && ops[p][n] {
			return true
		}
	}
	return false
}

// TestPoliciesMatchCalls holds the deploy role's actions equal to the
// SDK calls ferry's code makes, both ways, and every action (the
// instance role's too) to an operation AWS has, per botocore.
func TestPoliciesMatchCalls(t *testing.T) {
	ops := botocoreOperations(t)
	calls := sdkCalls(t)

	called := map[string]bool{}
	for op, where := range calls {
		prefix, name, _ := strings.Cut(op, ":")
		if !ops[prefix][name] {
			t.Errorf("%s (at %s) is not an operation of botocore's %s model", op, where[0], prefix)
		}
		called[action(op)] = true
	}

	// Every option that adds a statement: documents, tags and IDs,
	// calendars.
	var granted = map[string]bool{}
	for _, o := range []Options{opts(), optsIDs()} {
		s, err := For(o)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range s.DeployPolicy.Actions() {
			granted[a] = true
		}
		for _, a := range append(s.InstancePolicy.Actions(), s.DeployTrust.Actions()...) {
			if !exists(ops, a) {
				t.Errorf("%s is not an operation of botocore's models", a)
			}
		}
	}
	for a := range granted {
		if !exists(ops, a) {
			t.Errorf("deploy policy: %s is not an operation of botocore's models", a)
		}
		if called[a] {
			if why, ok := pending[a]; ok {
				t.Errorf("%s is called now (%v): remove it from pending (%s)", a, calls, why)
			}
			continue
		}
		if why, ok := pending[a]; ok {
			t.Logf("deploy policy: %s is granted for %s", a, why)
			continue
		}
		t.Errorf("deploy policy grants %s, which no ferry code calls: drop it", a)
	}
	for a := range called {
		if !granted[a] {
			var where []string
			for op, w := range calls {
				if action(op) == a {
					where = append(where, w...)
				}
			}
			t.Errorf("ferry calls %s (%s) but the deploy policy does not grant it: add it to deployPolicy in iam.go", a, strings.Join(where, ", "))
		}
	}
	var list []string
	for a := range called {
		list = append(list, a)
	}
	sort.Strings(list)
	t.Logf("ferry calls: %s", strings.Join(list, " "))
}
