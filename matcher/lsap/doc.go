// Package lsap solves the linear sum assignment problem exactly: given a cost
// matrix of rows (requests) and columns (workers), it pairs each row with at
// most one column and each column with at most one row so that as many rows
// as possible are assigned and, among all such assignments, the total cost is
// least.
//
// Forbidden pairs are +Inf. Unlike SciPy's linear_sum_assignment, which fails
// when the allowed pairs admit no assignment of every row, Solve always
// answers: rows that cannot all be served are left unassigned (-1), and the
// assignment returned has maximum cardinality first and minimum cost second.
// NaN and -Inf costs are rejected with an error.
//
// Solve takes a dense gonum matrix and runs the Jonker-Volgenant shortest
// augmenting path algorithm (column reduction for square problems,
// augmenting row reduction, then Dijkstra over columns with JV's scan sets)
// on the matrix's own storage when it is a *mat.Dense that needs no
// transposition (the solver transposes internally so that rows <= columns),
// or on a flat copy. SolveSparse takes, for each row, the list of its
// allowed columns; it runs the same phases over the allowed pairs only,
// with Dijkstra on a 4-ary heap, and skips whole groups of a row's arcs
// whose reduced costs cannot beat the nearest free column already reached
// (see levels.go). Solve itself hands a matrix that is mostly +Inf (at most
// a third finite) to the sparse solver. A Solver reuses its buffers from one
// call to the next.
//
// When the allowed pairs admit no full assignment, both forms first find a
// maximum matching (a row whose augmenting search fails can never be
// augmented later), then solve again with as many zero-cost "unassigned"
// columns as rows that must stay unserved: every full assignment of that
// problem has exactly the maximum number of real pairs, and the cheapest one
// is the answer. No big-M constant is involved, so the costs are not blurred
// by one.
//
// ReadORLib and ReadCSV parse cost matrices from outside input.
package lsap
