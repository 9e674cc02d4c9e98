package db

import "context"

type scanner interface{ Scan(...any) error }

// each runs q on the readers and calls fn with each row, read by scan.
// Rows are streamed: memory does not grow with the result.
func each[T any](ctx context.Context, d *DB, scan func(scanner) (T, error), fn func(*T) error, q string, args ...any) error {
	rows, err := d.r.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return err
		}
		if err := fn(&v); err != nil {
			return err
		}
	}
	return rows.Err()
}

// withLimit adds "LIMIT ?" to q when limit is positive (0: no limit).
func withLimit(q string, args []any, limit int) (string, []any) {
	if limit > 0 {
		return q + " LIMIT ?", append(args, limit)
	}
	return q, args
}
