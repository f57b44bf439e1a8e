package faq

import "strconv"

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) }
