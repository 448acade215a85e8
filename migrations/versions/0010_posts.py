"""Tokens are people with posts; districts may opt in to public Open311 listing.

A token is issued to one person holding one post (监督员, 受理员, 值班长, 派遣员, 专业部门); a
专业部门 token names its department, a 监督员 token may name the grids they patrol. The server
takes the post, the person and the department from the token, never from a request.

A district's cases are listed to callers without a token through Open311 only when the district
opts in (`public_listing`, off by default).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 04:00:00
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

POSTS = "'监督员', '受理员', '值班长', '派遣员', '专业部门'"


def upgrade() -> None:
    op.add_column('api_token', sa.Column('post', sa.Text(), nullable=True))
    op.add_column('api_token', sa.Column('department', sa.Text(), nullable=True))
    op.add_column('api_token', sa.Column('grids', postgresql.ARRAY(sa.Text()),
                                         server_default=sa.text("'{}'::text[]"),
                                         nullable=False))
    op.create_check_constraint(op.f('ck_api_token_post'), 'api_token', f"post IS NULL OR post IN ({POSTS})")
    op.create_check_constraint(op.f('ck_api_token_department'), 'api_token',
                               "(post = '专业部门') = (department IS NOT NULL)")
    op.add_column('district', sa.Column('public_listing', sa.Boolean(),
                                        server_default=sa.text('false'), nullable=False))


def downgrade() -> None:
    op.drop_column('district', 'public_listing')
    op.drop_constraint(op.f('ck_api_token_department'), 'api_token')
    op.drop_constraint(op.f('ck_api_token_post'), 'api_token')
    op.drop_column('api_token', 'grids')
    op.drop_column('api_token', 'department')
    op.drop_column('api_token', 'post')
