package main

import "bridgebot/locales"

// footerMessage is the announcement footer's text.
const footerMessage = "sub.footer"

// announcementFooter is the line under every announcement on how to stop
// them (sub.footer), per language; none if the texts cannot be read (run
// refuses to start then anyway).
func announcementFooter(c config) map[string]string {
	fsys, _ := source(c.LocalesDir, locales.Default(), "locales")
	cat, err := locales.Load(fsys)
	if err != nil {
		return nil
	}
	return footers(cat)
}

// footers is the announcement footer per language of loaded texts.
func footers(cat *locales.Catalog) map[string]string {
	out := map[string]string{}
	for _, l := range cat.Languages() {
		out[l] = cat.For(l).T(footerMessage, nil)
	}
	return out
}
