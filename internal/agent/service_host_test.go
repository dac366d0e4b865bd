package agent

import "testing"

func TestServiceHostOptionsValidate(t *testing.T) {
	good := ServiceHostOptions{Root: `D:\Apps\Billing`, Name: "ferry-billing-prod", Environment: "prod"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*ServiceHostOptions){
		"relative root":   func(o *ServiceHostOptions) { o.Root = `Apps\Billing` },
		"home root":       func(o *ServiceHostOptions) { o.Root = `~\Apps` },
		"unc root":        func(o *ServiceHostOptions) { o.Root = `\\server\share\x` },
		"dotdot root":     func(o *ServiceHostOptions) { o.Root = `C:\Apps\..\Windows` },
		"name with space": func(o *ServiceHostOptions) { o.Name = "ferry billing" },
		"name with slash": func(o *ServiceHostOptions) { o.Name = `a\b` },
		"env with quote":  func(o *ServiceHostOptions) { o.Environment = `p"` },
	} {
		o := good
		mut(&o)
		if o.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
