package faq

import (
	"unicode"
	"unicode/utf8"
)

// Limits that keep the work per message bounded whatever members send
// (a 10,000-character paste, a wall of emoji): only the start of the text is
// read, and only the first tokens are used.
const (
	maxInputBytes = 2048
	maxTokens     = 96
)

// fold maps accented Latin letters (already lower-cased) to ASCII.
func fold(r rune) rune {
	switch r {
	case 'á', 'à', 'â', 'ä', 'ã', 'å', 'ā':
		return 'a'
	case 'é', 'è', 'ê', 'ë', 'ē':
		return 'e'
	case 'í', 'ì', 'î', 'ï', 'ī':
		return 'i'
	case 'ó', 'ò', 'ô', 'ö', 'õ', 'ø', 'ō':
		return 'o'
	case 'ú', 'ù', 'û', 'ü', 'ū':
		return 'u'
	case 'ñ':
		return 'n'
	case 'ç':
		return 'c'
	case 'ý', 'ÿ':
		return 'y'
	}
	return r
}

// slang rewrites common SMS spellings and abbreviations (after folding)
// to the word they stand for. Replacements are single words.
var slang = map[string]string{
	"q": "que", "k": "que", "ke": "que", "qe": "que", "xq": "porque", "pq": "porque",
	"porq": "porque", "tmb": "tambien", "tb": "tambien", "x": "por", "d": "de",
	"kiero": "quiero", "kien": "quien", "kienes": "quienes", "kuanto": "cuanto",
	"dnd": "donde", "xfa": "porfavor", "porfa": "porfavor", "porfis": "porfavor",
	"u": "you", "ur": "your", "r": "are", "pls": "please", "plz": "please",
	"wanna": "want", "gonna": "going", "thru": "through", "info": "informacion",
	"org": "organization", "orgs": "organizations", "ed": "education",
	"email": "correo", "mail": "correo", "e": "", "msg": "message", "msgs": "messages",
}

// stopWords are function words of both languages that carry no topic. Question
// words that do carry one (where/donde, when/cuando, who/quien, cuanto...) are
// deliberately NOT here.
var stopWords = setOf(
	// Spanish
	"a", "al", "algo", "algun", "alguna", "alguno", "algunos", "ante", "aqui", "asi",
	"aun", "cada", "como", "con", "cual", "cuales", "de", "del", "el", "ella", "ellas",
	"ellos", "en", "entonces", "era", "eres", "es", "esa", "ese", "eso", "esta", "estan",
	"estar", "estas", "este", "esto", "estos", "estoy", "fue", "ha", "hace", "hacen",
	"hacer", "hago", "han", "has", "hay", "he", "la", "las", "le", "les", "lo", "los",
	"mas", "me", "mi", "mis", "muy", "ni", "no", "nos", "nosotros", "o", "para", "pero",
	"por", "porque", "puedo", "puede", "pueden", "podemos", "podria", "pues", "que",
	"quiero", "quisiera", "quisieramos", "queremos", "se", "sea", "ser", "si", "sin",
	"sobre", "soy", "su", "sus", "tambien", "tan", "te", "tener", "tengo", "tiene",
	"tienen", "tu", "tus", "un", "una", "uno", "unos", "unas", "usted", "va", "van",
	"vamos", "voy", "y", "ya", "yo", "saber", "gustaria", "favor", "porfavor",
	"oye", "disculpe", "disculpa", "perdon", "ok", "dan", "dar", "ir", "mucho",
	"muchos", "ahi", "alla", "esos", "esas", "nuestro", "nuestra",
	"le", "lo", "eh", "pues", "bueno", "oiga", "cosa", "hacerle", "decir",
	"dicen", "dice", "pasa", "sabe", "saben", "quieren", "quiere", "ningun",
	"ninguna", "ninguno", "solo", "sola", "puro", "pura", "molestia", "molestar",
	"disculpen", "perdone", "hasta", "desde", "oigan", "onda", "bien", "mal", "nada",
	"todo", "todos", "todas", "entendi", "entiendo", "ayuda", "ayudar", "ayudan",
	"ayuden", "ayudarme", "pueda", "podrian", "podria", "mismo", "cosas",
	"hola", "igual", "gracias", "hola", "buenas", "buenos", "saludos",
	// English
	"an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "for",
	"with", "from", "by", "as", "is", "are", "was", "were", "be", "been", "being",
	"am", "do", "does", "did", "doing", "have", "has", "had", "i", "my", "mine",
	"we", "us", "our", "you", "your", "yours", "he", "she", "it", "its", "they",
	"them", "their", "this", "that", "these", "those", "there", "here", "what",
	"whats", "which", "how", "can", "could", "would", "should", "will", "shall",
	"may", "might", "must", "want", "need", "get", "got", "just", "so", "very",
	"really", "also", "too", "please", "im", "ive", "id", "ill", "dont", "doesnt",
	"not", "yes", "any", "anything", "some", "something", "all", "about", "tell",
	"know", "exactly", "like", "go", "going", "let", "lets", "thing", "stuff",
	"okay", "would", "love", "there", "into", "out", "up", "then", "than", "hey",
	"whats", "wondering", "kind", "sort", "one", "way",
	"through", "only", "sorry", "excuse", "bother", "hello", "hi", "thanks",
	"real", "actually", "already", "yet", "still", "everything", "nothing",
	"help", "helps", "helping", "guys", "folks", "ok", "well", "isnt", "arent", "cant", "wont", "youre",
)

func setOf(words ...string) map[string]struct{} {
	m := make(map[string]struct{}, len(words))
	for _, w := range words {
		m[w] = struct{}{}
	}
	return m
}

// span is a token: buf[start:end].
type span struct{ start, end int }

// analyzer turns text into tokens and terms. It owns reusable buffers, so an
// analyzer must not be shared between goroutines (the matcher pools them).
type analyzer struct {
	buf  []byte // normalized tokens
	toks []span // tokens in buf, after slang rewriting
	// asking[i] reports whether token i is in a sentence that asks
	// (ends with "?" or starts with "¿"); sentences end at . ! ? ; and
	// line breaks.
	asking    []bool
	sentStart int  // first token of the current sentence
	sentAsks  bool // the current sentence asks
}

// normalize reads text (at most maxInputBytes of it), lower-cases it, folds
// accents, drops apostrophes, turns every other non-letter/digit (punctuation,
// emoji, symbols) into a token break, collapses runs of 3+ identical letters
// ("holaaa" → "hola"), and rewrites SMS spellings. Letters of other scripts
// (Arabic, Cyrillic...) are kept as they are, lower-cased.
func (a *analyzer) normalize(text string) {
	a.buf = a.buf[:0]
	a.toks = a.toks[:0]
	a.asking = a.asking[:0]
	a.sentStart, a.sentAsks = 0, false
	if len(text) > maxInputBytes {
		text = text[:maxInputBytes]
	}
	start := -1
	prev, run := rune(-1), 0
	afterDollar := false // the last character read was "$"
	flush := func() {
		if start < 0 {
			return
		}
		if rep, ok := slang[string(a.buf[start:])]; ok {
			a.buf = append(a.buf[:start], rep...)
		}
		if len(a.buf) > start {
			a.toks = append(a.toks, span{start, len(a.buf)})
		}
		start = -1
	}
	for i := 0; i < len(text) && len(a.toks) < maxTokens; {
		r, size := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[i:])
		}
		i += size
		if r != '$' {
			afterDollar = false
		}
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
		case r >= 'A' && r <= 'Z':
			r += 'a' - 'A'
		case r == '\'' || r == '’' || r == '`' || r == '´':
			continue // "what's" → "whats", "don't" → "dont"
		case r < utf8.RuneSelf:
			flush()
			switch r {
			case '$':
				// "$$?", "is it $50": a dollar sign means money, in any
				// language; a run of them is one word
				if dollar := len(a.buf); !afterDollar && len(a.toks) < maxTokens {
					a.buf = append(a.buf, "money"...)
					a.toks = append(a.toks, span{dollar, len(a.buf)})
				}
				afterDollar = true
				continue
			case '?':
				a.sentAsks = true
				a.endSentence()
			case '.', '!', ';', '\n':
				a.endSentence()
			}
			continue
		case r == '¿':
			flush()
			a.endSentence()
			a.sentAsks = true
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			r = fold(unicode.ToLower(r))
		case unicode.Is(unicode.Mn, r):
			continue // combining accent (decomposed input)
		default:
			flush()
			continue
		}
		if start < 0 {
			start = len(a.buf)
			prev, run = -1, 0
		}
		// collapse a run of 3+ identical letters into one: "holaaa" → "hola"
		if r == prev {
			run++
		} else {
			prev, run = r, 1
		}
		switch {
		case run == 3:
			_, size := utf8.DecodeLastRune(a.buf)
			a.buf = a.buf[:len(a.buf)-size]
			continue
		case run > 3:
			continue
		}
		a.buf = utf8.AppendRune(a.buf, r)
	}
	if len(a.toks) < maxTokens {
		flush()
	}
	a.endSentence()
}

// endSentence marks the tokens of the sentence that ends here. A long
// sentence without question marks (dictated by voice, typed in one breath:
// "soy de oaxaca trabajo en la pisca y no puedo faltar mucho cuantos dias va
// a ser") asks from its last question word on: what comes before is the
// story around the question.
func (a *analyzer) endSentence() {
	asksFrom := len(a.toks)
	if a.sentAsks {
		asksFrom = a.sentStart
	} else if len(a.toks)-a.sentStart >= dictatedMinTokens {
		for i := len(a.toks) - 1; i >= a.sentStart+dictatedMinStory; i-- {
			if tailQuestionWords[string(a.tok(i))] {
				asksFrom = i
				break
			}
		}
	}
	for i := len(a.asking); i < len(a.toks); i++ {
		a.asking = append(a.asking, i >= asksFrom)
	}
	a.sentStart, a.sentAsks = len(a.toks), false
}

// A sentence of dictatedMinTokens words or more without a question mark is
// read as a story followed by its question when a question word stands
// after its first dictatedMinStory words.
const (
	dictatedMinTokens = 8
	dictatedMinStory  = 4
)

// tailQuestionWords start the question at the end of a dictated sentence.
// Words that are as often relative pronouns or conjunctions as questions
// ("que", "como", "porque", "why") are left out.
var tailQuestionWords = map[string]bool{"where": true, "when": true, "who": true, "how": true, "which": true,
	"what": true, "whats": true, "donde": true, "cuando": true, "quien": true, "quienes": true, "cual": true,
	"cuales": true, "cuanto": true, "cuantos": true, "cuanta": true, "cuantas": true}

func (a *analyzer) tok(i int) []byte { s := a.toks[i]; return a.buf[s.start:s.end] }

// greetKey writes a greeting comparison key for w into a.key and returns it:
// doubled letters are collapsed, so "holaa", "helloo", "graciass" compare
// equal to "hola", "hello", "gracias".
func greetKey(dst, w []byte) []byte {
	dst = dst[:0]
	for i, c := range w {
		if i > 0 && c == w[i-1] {
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

func isStop(w []byte) bool {
	_, ok := stopWords[string(w)]
	return ok
}

// stem strips a light set of Spanish and English inflectional and
// derivational suffixes in place and returns the stem. It is deliberately
// light (no dictionary): plurals, gender, common verb endings, -ción/-tion,
// -ing/-ed, enclitic pronouns ("inscribirme"). Over- and under-stemming are
// absorbed by the typo-tolerant lookup of the matcher. Examples:
//
//	organizing, organización, organizar → organiz  (agent nouns stay apart:
//	organizadora → organizador, organizer → organiz... see tests)
//	cuesta, cuestan → cuest   ·   costo, costs → cost
//	inscribirme, inscribo → inscrib   ·   applying, applies → appli
func stem(w []byte) []byte {
	if len(w) <= 3 || !isASCII(w) {
		return w
	}
	// enclitic pronouns: inscribirme → inscribir, avísenme → avisen
	for _, suf := range enclitics {
		k := len(w) - len(suf)
		// after an infinitive (inscribirme) or a plural imperative (mándenme)
		if k >= 5 && hasSuffix(w, suf) && (w[k-1] == 'r' && isAny(w[k-2], "aei") || w[k-1] == 'n' && isAny(w[k-2], "ae")) {
			w = w[:len(w)-len(suf)]
			break
		}
	}
	// plurals
	n := len(w)
	switch {
	case n > 4 && hasSuffix(w, "ies"):
		w = w[:n-2] // stories → stori, studies → studi
	case n > 4 && hasSuffix(w, "es") && esPlural(w[n-3]):
		w = w[:n-2] // ciudades → ciudad, sesiones → sesion
	case n > 3 && w[n-1] == 's' && !isAny(w[n-2], "suis"):
		w = w[:n-1] // becas → beca, dates → date
	}
	// one derivational / verbal suffix, longest first, keeping ≥ 3 letters
	switch {
	case hasSuffix(w, "izer"): // agent noun: organizer ≠ organize
	case len(w) >= 9 && hasSuffix(w, "ication"): // application, apply → appli
		w = w[:len(w)-6]
	default:
		for _, suf := range suffixes {
			if len(w)-len(suf) >= 3 && hasSuffix(w, suf) {
				w = w[:len(w)-len(suf)]
				break
			}
		}
	}
	// Spanish gender/number vowel: costo → cost, cuesta → cuest; a final
	// -e only from 5 letters: aprende → aprend, parte → part, schedule →
	// schedul (but date, fee stay)
	if n := len(w); n > 3 && (w[n-1] == 'a' || w[n-1] == 'o') || n >= 5 && w[n-1] == 'e' {
		w = w[:n-1]
	}
	// English -y/-i: apply, applies, applied → appli
	if n := len(w); n > 3 && w[n-1] == 'y' {
		w[n-1] = 'i'
	}
	return w
}

var enclitics = []string{"nos", "me", "te", "se", "lo", "la", "le", "les", "los", "las"}

// suffixes, longest first.
var suffixes = []string{
	"amiento", "imiento",
	"aciones", "ations", "ating", "acion", "icion", "ation", "mente", "iendo", "ments",
	"cion", "sion", "tion", "ando", "ated", "ment",
	"ing", "ado", "ido", "ada", "ida", "ate",
	"ed", "er", "ar", "ir", "an", "en",
}

func hasSuffix(w []byte, s string) bool {
	return len(w) >= len(s) && string(w[len(w)-len(s):]) == s
}

// esPlural: consonants after which Spanish forms the plural with -es.
func esPlural(c byte) bool { return isAny(c, "dlnrzjy") }

func isAny(c byte, set string) bool {
	for i := 0; i < len(set); i++ {
		if set[i] == c {
			return true
		}
	}
	return false
}

func isASCII(w []byte) bool {
	for _, c := range w {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// contentTerms returns the stemmed content terms of text (stop words
// removed, duplicates kept), for index building and validation.
func contentTerms(text string) []string {
	var a analyzer
	a.normalize(text)
	var out []string
	for i := range a.toks {
		w := a.tok(i)
		if isStop(w) {
			continue
		}
		out = append(out, string(stem(w)))
	}
	return out
}

// Normalize returns text as the matcher sees it before stemming:
// lower-case, accents folded, punctuation and emoji removed, SMS spellings
// rewritten, words separated by single spaces. Useful for debugging.
func Normalize(text string) string {
	var a analyzer
	a.normalize(text)
	var b []byte
	for i := range a.toks {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, a.tok(i)...)
	}
	return string(b)
}

// Stem returns the light stem of a single normalized word (see stem).
func Stem(word string) string { return string(stem([]byte(word))) }
