package main

import "bridgebot/locales"

// footerMessage is the announcement footer's text.
const footerMessage = "sub.footer"

// footers is the line under every announcement on how to stop them
// (footerMessage), per language of the loaded texts.
func footers(cat *locales.Catalog) map[string]string {
	out := map[string]string{}
	for _, l := range cat.Languages() {
		out[l] = cat.For(l).T(footerMessage, nil)
	}
	return out
}
