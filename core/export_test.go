package core

// SetAfterEnd makes c call f each time a login ends, once end has released
// the client's lock: a test holds that moment open, for a reconnect to try
// to slip into it.
func SetAfterEnd(c *Client, f func()) { c.afterEnd = f }
