package workflow

import (
	"strconv"
	"strings"
)

// runsDaily reports whether a five-field cron expression fires on every day
// of the year (at least once a day), with the usual rule that when both
// day-of-month and day-of-week are restricted a day matches either.
func runsDaily(expr string) bool {
	f := strings.Fields(expr)
	if len(f) != 5 {
		return false
	}
	minutes, ok1 := cronSet(f[0], 0, 59, nil)
	hours, ok2 := cronSet(f[1], 0, 23, nil)
	dom, ok3 := cronSet(f[2], 1, 31, nil)
	months, ok4 := cronSet(f[3], 1, 12, monthNames)
	dow, ok5 := cronSet(f[4], 0, 7, dayNames)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || len(minutes) == 0 || len(hours) == 0 {
		return false
	}
	if len(months) != 12 {
		return false
	}
	if dow[7] {
		dow[0] = true
	}
	delete(dow, 7)
	domAll, dowAll := len(dom) == 31, len(dow) == 7
	domStar, dowStar := strings.HasPrefix(f[2], "*"), strings.HasPrefix(f[4], "*")
	switch {
	case domStar && dowStar:
		return domAll && dowAll
	case domStar:
		return dowAll
	case dowStar:
		return domAll
	}
	return domAll || dowAll
}

var (
	monthNames = map[string]int{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}
	dayNames   = map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
)

func cronSet(field string, lo, hi int, names map[string]int) (map[int]bool, bool) {
	set := map[int]bool{}
	for _, part := range strings.Split(field, ",") {
		step := 1
		if i := strings.Index(part, "/"); i >= 0 {
			n, err := strconv.Atoi(part[i+1:])
			if err != nil || n < 1 {
				return nil, false
			}
			step, part = n, part[:i]
		}
		from, to := lo, hi
		switch {
		case part == "*":
		case strings.Contains(part, "-"):
			a, b, _ := strings.Cut(part, "-")
			var ok bool
			if from, ok = cronNum(a, names); !ok {
				return nil, false
			}
			if to, ok = cronNum(b, names); !ok {
				return nil, false
			}
		default:
			n, ok := cronNum(part, names)
			if !ok {
				return nil, false
			}
			from, to = n, n
			if step > 1 {
				to = hi
			}
		}
		if from < lo || to > hi || from > to {
			return nil, false
		}
		for v := from; v <= to; v += step {
			set[v] = true
		}
	}
	return set, true
}

func cronNum(s string, names map[string]int) (int, bool) {
	if n, ok := names[strings.ToLower(s)]; ok {
		return n, true
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}
