"""Request dependencies: the node, the calling user (JWT) and the calling backend (API key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tocsin.auth.tokens import Principal
from tocsin.errors import Unauthorized
from tocsin.models import ApiKey
from tocsin.web.node import Node

user_bearer = HTTPBearer(
    auto_error=False, scheme_name="UserToken", description="A user JWT (`sub` = user id)."
)
key_bearer = HTTPBearer(
    auto_error=False, scheme_name="ApiKey", description="An API key (`tsk_...`) for backends."
)
Credentials = HTTPAuthorizationCredentials | None


# Dependencies are async on purpose: FastAPI runs plain functions in a thread pool.


async def get_node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


NodeDep = Annotated[Node, Depends(get_node)]


async def get_user(
    node: NodeDep, credentials: Annotated[Credentials, Depends(user_bearer)]
) -> Principal:
    if credentials is None:
        raise Unauthorized("The token is invalid or expired.", code="invalid_token")
    return node.tokens.verify(credentials.credentials)


async def get_api_key(
    node: NodeDep, credentials: Annotated[Credentials, Depends(key_bearer)]
) -> ApiKey:
    return await node.api_keys.authenticate(credentials.credentials if credentials else None)


UserDep = Annotated[Principal, Depends(get_user)]
ApiKeyDep = Annotated[ApiKey, Depends(get_api_key)]
