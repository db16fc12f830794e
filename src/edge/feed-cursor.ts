// This isolate's one ChangeFeed cursor (core/feed/isolate-cursor), shared by the poll (./freshness) and the
// loads that must not cache what a named change has replaced (./resolve).
import { IsolateCursor } from '../core/feed/isolate-cursor';

export const isolateCursor = new IsolateCursor();
