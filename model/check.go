package model

// Check defaults a copy of each decoded object and validates it as the API server would on
// create, returning every problem as an ErrorList with file, document and line, or nil.
func Check(objs []Object) error {
	var errs ErrorList
	for _, o := range objs {
		if o.Obj == nil {
			continue
		}
		obj := o.Obj.DeepCopyObject()
		Default(obj)
		kind, name := "", ""
		if o.Kind != nil {
			kind = o.Kind.GVK.Kind
		}
		if m := o.Meta(); m != nil {
			name = m.GetName()
		}
		for _, fe := range Validate(obj) {
			errs = append(errs, &FieldError{
				File: o.Source.File, Doc: o.Source.Doc, Item: o.Source.Item,
				Line: o.LineOf(fe.Field), Kind: kind, Name: name,
				Field: fe.Field, Detail: fe.ErrorBody(),
			})
		}
	}
	if len(errs) == 0 {
		return nil
	}
	sortErrors(errs)
	return errs
}
