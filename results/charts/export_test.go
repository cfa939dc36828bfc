package charts

// ClassP99 is classP99 for the tests: a strategy's 99th percentile of a
// latency class as the chart marks it.
var ClassP99 = classP99

// MergeRun is mergeRun for the tests.
var MergeRun = mergeRun
