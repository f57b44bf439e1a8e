package bot

import "context"

// Eraser deletes what one part of the bot keeps about a member when they
// delete their data (/delete), beyond the session and sign-up the Store
// forgets and the desk's Forget: for example their broadcast delivery
// records.
type Eraser interface {
	Erase(ctx context.Context, chatID int64) error
}
