"""Point → responsibility: the in-memory index (`index`), the resolver of one point (`resolve`)
and of many (`bulk`), its typed result (`result`), the precedence of the responsibility rules
(`chain`), the rules themselves as data (`rules`, `tables`: 权责清单 and zones), and the one way
to get a resolver (`service`). Used by API clients with no case, and by case intake."""
