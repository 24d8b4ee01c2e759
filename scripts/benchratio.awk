# Reads `go test -bench` output and prints, for each benchmark with sub-benchmarks, the
# mean ns/op of each and the ratio of every other sub-benchmark to the one named as its
# baseline (a name starting with bare, or go-api). Also echoes custom metrics: peak-MiB,
# and ratios a benchmark reports itself (a metric named like c-abi/go-api).
/^Benchmark/ {
	name = $1
	sub(/-[0-9]+$/, "", name)
	for (i = 3; i < NF; i++) {
		if ($(i+1) == "ns/op") { sum[name] += $i; n[name]++ }
		if ($(i+1) == "peak-MiB") { peak[name] = $i }
		if ($(i+1) ~ /^[a-z-]+\/[a-z-]+$/) { rsum[name, $(i+1)] += $i; rn[name, $(i+1)]++; rname[name] = $(i+1) }
	}
}
END {
	for (k in sum) {
		split(k, parts, "/")
		if (parts[2] ~ /^(bare|go-api)/) base[parts[1]] = k
	}
	for (k in sum) {
		split(k, parts, "/")
		mean = sum[k] / n[k]
		line = sprintf("%-45s %12.0f ns/op (mean of %d)", k, mean, n[k])
		if ((parts[1] in base) && base[parts[1]] != k) {
			b = base[parts[1]]
			line = line sprintf("  = %.2fx %s", mean / (sum[b] / n[b]), b)
		}
		if (k in peak) line = line sprintf("  peak %.1f MiB", peak[k])
		if (k in rname) line = line sprintf("  = %.3f %s (mean of %d)", rsum[k, rname[k]] / rn[k, rname[k]], rname[k], rn[k, rname[k]])
		print line
	}
}
