"""Which of a connector's methods agents may call as MCP tools, and which templates' cycles
(partner token): nothing by default. The MCP server (api/agents/) makes each exposed method of
each connector an account has connected one of that account's tools, and each of its Active
cycles of a callable template (api/agents/template_tools.py)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.auth import PartnerClaims
from api.dependencies import Db, found
from api.errors import COMMON, responses
from store import agent_templates, agent_tools
from store.tables import Connector, Template

router = APIRouter(prefix="/v1.0", tags=["agents"], responses=responses(*COMMON))


class AgentTool(BaseModel):
    Method: str = Field(description="the method's UniqueIdentifier")
    Approval: bool = Field(default=False, description="a write waits for a person's approval before it is sent")
    ApprovalTimeoutMinutes: float = Field(default=1440, gt=0, le=60 * 24 * 30,
                                          description="an approval not given by then expires: nothing is sent")


class AgentToolsBody(BaseModel):
    Methods: list[AgentTool] = Field(description="the methods agents may call; [] exposes none")


def _view(exposed: list[agent_tools.Exposed]) -> AgentToolsBody:
    return AgentToolsBody(Methods=[AgentTool(**e.document()) for e in exposed])


@router.get("/connectors/{connector_id}/agent-tools", summary="The connector's methods agents may call (partner token)")
def get_agent_tools(connector_id: str, db: Db, _: PartnerClaims) -> AgentToolsBody:
    found(db, Connector, connector_id, "connector")
    return _view(agent_tools.exposed(db, connector_id))


@router.put("/connectors/{connector_id}/agent-tools", summary="Choose the connector's methods agents may call (partner token)",
            responses=responses(422))
def put_agent_tools(connector_id: str, body: AgentToolsBody, db: Db, _: PartnerClaims) -> AgentToolsBody:
    """Replaces the list. Each method must be one of the connector's (its Live release's), not a
    Webhook; only writes (not GET) may wait for approval."""
    found(db, Connector, connector_id, "connector")
    return _view(agent_tools.expose(db, connector_id, [
        agent_tools.Exposed(m.Method, m.Approval, timedelta(minutes=m.ApprovalTimeoutMinutes)) for m in body.Methods]))


class AgentTemplateBody(BaseModel):
    Callable: bool = Field(description="agents may run the template's cycles as MCP tools: each Active one whose "
                                       "trigger is a Webhook step, one event a call")


@router.get("/templates/{template_id}/agent-tool",
            summary="Whether agents may run the template's cycles as tools (partner token)")
def get_agent_template(template_id: str, db: Db, _: PartnerClaims) -> AgentTemplateBody:
    return AgentTemplateBody(Callable=found(db, Template, template_id, "template").agent_callable)


@router.put("/templates/{template_id}/agent-tool", responses=responses(422),
            summary="Let agents run the template's cycles as tools, or not (partner token)")
def put_agent_template(template_id: str, body: AgentTemplateBody, db: Db, _: PartnerClaims) -> AgentTemplateBody:
    """Only a template whose trigger is a Webhook step can be callable: a call is one event."""
    template = found(db, Template, template_id, "template")
    return AgentTemplateBody(Callable=agent_templates.mark(db, template, body.Callable).agent_callable)
