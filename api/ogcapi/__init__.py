"""OGC API – Features over citygrid's tables: the collections (`catalog`), the query parameters
(`query`) and the OpenAPI 3.0 document (`openapi30`); `api.routes.features` serves them."""
