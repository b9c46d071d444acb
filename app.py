"""semmatch for coordinators: a Streamlit UI over semmatch (UI only; the logic lives in the semmatch package).

Run with `semmatch app` (binds to 127.0.0.1 unless a login is configured; `streamlit run app.py` reads the same
binding from .streamlit/config.toml and refuses to serve without a login on another address). Settings come from the
environment:
SEMMATCH_DATABASE_URL (store), SEMMATCH_INDEX_ROOT (index folders), SEMMATCH_MODEL (model name, also a fine-tuned
one under models/), SEMMATCH_CONFIG (a named weight set under models/<name>.json),
SEMMATCH_APP_PASSWORD_HASH or `password_hash` in .streamlit/secrets.toml (login), SEMMATCH_LOGIN_LIMITS_CLIENT and
SEMMATCH_LOGIN_LIMITS_ALL (login throttling, see semmatch.auth).

Record text (titles, descriptions, sentences, conditions, ids) and error messages quoting it are shown as plain text:
every such string goes through `plain` before it reaches st.markdown, st.caption, st.success/st.error or a label.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os

import polars as pl
import streamlit as st

from semmatch.auth import is_local_address
from semmatch.config import CRITERIA, MatchConfig, resolve_config
from semmatch.errors import SemmatchError, TextTooLongError
from semmatch.match.criteria import Criteria
from semmatch.records.fields import OFFER_TYPES
from semmatch.records.io import READERS, read_table
from semmatch.records.schema import ColumnMapping, row_errors
from semmatch.ui.app_login import login_gate, t
from semmatch.ui.i18n import plain
from semmatch.workspace import Workspace

DECLINE_REASONS = ("keine Zeit", "zu weit weg", "passt fachlich nicht", "keine Rückmeldung", "schon vergeben")


@st.cache_resource(show_spinner="Modell und Index werden geladen ...")
def workspace() -> Workspace:
    named = os.environ.get("SEMMATCH_CONFIG")  # a weight set by name, e.g. from `semmatch tune --name`
    config = resolve_config(named) if named else MatchConfig()
    config = config.with_options(model=os.environ.get("SEMMATCH_MODEL"))
    return Workspace(os.environ.get("SEMMATCH_DATABASE_URL"), os.environ.get("SEMMATCH_INDEX_ROOT",
                                                                             "models/workspace"), config)


def criteria_form(prefix: str, kind: str, defaults: Criteria | None = None) -> Criteria:
    """Criteria widgets; each criterion can be switched to "ignore"."""
    profile = defaults.profile if defaults else None
    with st.expander(t("criteria"), expanded=True):
        left, middle, right = st.columns(3)
        plz = left.text_input(t("plz"), value=(profile.plz or "") if profile else "", key=f"{prefix}_plz")
        radius = middle.number_input(t("radius"), min_value=0, max_value=1000, step=5, key=f"{prefix}_radius",
                                     value=int(profile.radius_km) if profile and profile.radius_km else 25)
        remote = right.checkbox(t("remote"), value=bool(profile.remote_ok) if profile else False,
                                key=f"{prefix}_remote")
        start = left.date_input(t("from"), value=profile.date_from if profile else None, key=f"{prefix}_from")
        end = middle.date_input(t("until"), value=profile.date_until if profile else None, key=f"{prefix}_until")
        languages = right.multiselect(t("languages"), ["de", "en", "ar", "uk", "ru", "tr", "fa", "fr", "es", "pl"],
                                      default=list(profile.languages) if profile else ["de"], key=f"{prefix}_lang")
        skills = st.text_input(t("skills"), value=", ".join(profile.skills) if profile else "", key=f"{prefix}_skills")
        types = st.multiselect(t("types"), list(OFFER_TYPES), key=f"{prefix}_types",
                               default=[x for x in profile.offer_types if x in OFFER_TYPES] if profile else [])
        ignore = st.multiselect(t("ignore"), list(CRITERIA), default=["skills"], key=f"{prefix}_ignore")
    values = {"plz": plz.strip() or None, "radius_km": radius, "remote_ok": remote, "date_from": start,
              "date_until": end, "languages": languages, "skills": [s.strip() for s in skills.split(",")],
              "offer_types": types}
    return Criteria.from_values({k: v for k, v in values.items() if v not in (None, [], [""])}, kind=kind,
                                ignore=ignore, require=[c for c in CRITERIA if c not in ignore])


def show_explanation(row: dict) -> None:
    explanation = json.loads(row["explanation"])
    if explanation.get("key_sentence"):
        st.markdown(f"> **{plain(explanation['key_sentence']['match'])}**")
    for pair in explanation["evidence"][:3]:
        st.markdown(f"- „{plain(pair['query'])}“ ↔ **„{plain(pair['match'])}“** ({pair['similarity']:.2f})")
    skills = explanation["skills"]
    if skills["found"] or skills["missing"]:
        st.markdown(f"✅ {t('skills_found')}: {plain(', '.join(skills['found'])) or '–'} · "
                    f"❌ {t('skills_missing')}: {plain(', '.join(skills['missing'])) or '–'}")
    facts = []
    if explanation["remote"]:
        facts.append("remote")
    elif explanation["distance_km"] is not None:
        facts.append(f"{t('distance')}: {explanation['distance_km']:g} km")
    if explanation["time"] and explanation["time"].get("overlap"):
        facts.append(f"{t('time')}: {plain(explanation['time']['from'] or '…')} – "
                     f"{plain(explanation['time']['until'] or '…')}")
    if explanation.get("condition"):
        facts.append(f"⚠ {plain(explanation['condition'])}")
    st.caption(" · ".join(facts))
    st.caption("Score: " + ", ".join(f"{plain(k)} {v:.3f}" for k, v in explanation["components"].items()
                                     if v is not None)
               + " · " + ", ".join(f"{plain(k)}: {plain(v)}" for k, v in explanation["criteria"].items()))


def log_shown(result: pl.DataFrame, record_id: str | None, prefix: str) -> None:
    """Record once per session which offers a coordinator was shown for a saved need (exposure, Hole@k)."""
    if record_id is None or result.height == 0:
        return
    ws = workspace()
    seen = st.session_state.setdefault("shown_logged", set())
    pairs = [(record_id, o) if prefix == "need" else (o, record_id) for o in result["id"].to_list()]
    new = [p for p in pairs if p not in seen]
    if not new:
        return
    by = st.session_state.get("user") or "app"
    for need, offer in new:
        ws.decide(need, offer, "shown", decided_by=by)
    if prefix == "need":
        ws.store.record_matches(result.filter(pl.col("id").is_in([o for _, o in new])),
                                model=ws.matcher("offers").index_.model_id)
    seen.update(new)


def shortlist(result: pl.DataFrame, need_id: str | None, text: str, criteria: Criteria, prefix: str) -> None:
    ws = workspace()
    if result.height == 0:
        st.info(t("no_results"))
        return
    log_shown(result, need_id, prefix)
    for row in result.iter_rows(named=True):
        pct = f"{row['match_pct']:.0f} %" if row.get("match_pct") is not None else f"{row['score']:.3f}"
        flags = []
        if row.get("times_contacted"):
            flags.append(f"· {t('already_contacted')} ({row['times_contacted']})")
        if row.get("already_placed"):
            flags.append(f"✔ {t('already_placed')}")
        place = f" · {plain(row['town'])}" if row.get("town") else ""
        label = f"#{row['rank']} · {pct} · {plain(row.get('title') or row['id'])}{place} {' '.join(flags)}"
        with st.expander(label, expanded=row["rank"] <= 3):
            show_explanation(row)
            if need_id is None:
                if prefix == "offer":
                    st.caption(t("save_offer_first"))
                continue
            cols = st.columns(5)
            key = f"{prefix}_{row['id']}"
            reason = cols[4].selectbox(t("reason"), DECLINE_REASONS, key=f"{key}_reason", label_visibility="collapsed")
            for col, action in zip(cols, ("contacted", "accepted", "declined", "placed")):
                if col.button(t(action), key=f"{key}_{action}"):
                    pair = (need_id, row["id"]) if prefix == "need" else (row["id"], need_id)
                    try:
                        ws.decide(*pair, action, reason=reason if action == "declined" else None,
                                  decided_by=st.session_state.get("user") or "app")
                        st.success(f"{t('recorded')}: {plain(pair[0])} / {plain(pair[1])} → {t(action)}")
                    except SemmatchError as exc:
                        st.error(plain(exc))
            if prefix == "need" and row.get("times_contacted") or st.session_state.get(f"{key}_shown_contact"):
                try:
                    st.caption(f"{t('contact')}: " + plain(", ".join(ws.store.contact("offers", row["id"]).values())))
                except SemmatchError:
                    pass


def result_map(result: pl.DataFrame, criteria: Criteria) -> None:
    points = result.select([c for c in ("id", "title", "lat", "lon", "times_contacted", "already_placed")
                            if c in result.columns])
    if "lat" not in points.columns or points.height == 0:
        return
    import pydeck as pdk

    contacted = pl.col("times_contacted").fill_null(0) > 0 if "times_contacted" in points.columns else pl.lit(False)
    placed = pl.col("already_placed").fill_null(False) if "already_placed" in points.columns else pl.lit(False)
    points = points.with_columns(
        pl.col("lat").cast(pl.Float64, strict=False), pl.col("lon").cast(pl.Float64, strict=False),
        pl.when(placed).then(pl.lit([40, 160, 60, 200])).when(contacted).then(pl.lit([240, 170, 0, 200]))
        .otherwise(pl.lit([0, 110, 200, 180])).alias("color"))  # blue: new, amber: contacted, green: placed
    layers = [pdk.Layer("ScatterplotLayer", points.drop_nulls(["lat", "lon"]).to_dicts(), get_position="[lon, lat]",
                        get_radius=800, get_fill_color="color", pickable=True)]
    profile = criteria.profile
    if profile.has_location:
        center = [{"lat": profile.lat, "lon": profile.lon}]
        layers.append(pdk.Layer("ScatterplotLayer", center, get_position="[lon, lat]",
                                get_radius=(profile.radius_km or 0) * 1000, get_fill_color=[230, 80, 0, 40],
                                stroked=True, get_line_color=[230, 80, 0], line_width_min_pixels=2))
        view = pdk.ViewState(latitude=profile.lat, longitude=profile.lon, zoom=8)
    else:
        view = pdk.ViewState(latitude=51.2, longitude=10.4, zoom=5)
    with st.expander(t("map")):
        st.pydeck_chart(pdk.Deck(layers=layers, initial_view_state=view, tooltip={"text": "{title}"}))


def pick_record(kind: str, prefix: str, paste_label: str, stored_label: str,
                text_label: str) -> tuple[str | None, str, Criteria | None]:
    """Paste a text, or pick a stored record whose own fields become the criteria: (id or None, text, criteria)."""
    ws = workspace()
    records = ws.store.records(kind)
    source = st.radio(t("source"), [paste_label, stored_label], horizontal=True, key=f"{prefix}_source")
    if source == stored_label and records.height:
        titles = records["title"] if "title" in records.columns else records["text"]
        labels = {f"{i} · {title}": i for i, title in zip(records["id"], titles)}
        record_id = labels[st.selectbox(stored_label, list(labels), key=f"{prefix}_pick")]
        text, defaults = ws.criteria_of(kind, record_id)
        st.text_area(text_label, value=text, height=150, disabled=True, key=f"{prefix}_show_{record_id}")
        return record_id, text, defaults
    return None, st.text_area(text_label, height=150, key=f"{prefix}_text"), None


def need_page() -> None:
    ws = workspace()
    need_id, text, defaults = pick_record("needs", "need", t("paste"), t("stored"), t("need_text"))
    criteria = criteria_form(f"need_{need_id}" if need_id else "need", "needs", defaults)  # fresh widgets per need
    k = st.slider(t("k"), 3, 30, 10, key="need_k")
    if st.button(t("search"), type="primary", key="need_search") and text.strip():
        st.session_state["need_query"] = {"text": text, "need_id": need_id}
    query = st.session_state.get("need_query")
    if not query or query["text"] != text:
        return
    if query["need_id"] is None and st.button(t("save_need"), key="need_save"):
        new_id = "B-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
        profile = criteria.profile
        ws.save_record("needs", {"id": new_id, "title": text.strip().splitlines()[0][:80], "description": text,
                                 "plz": profile.plz, "radius_km": profile.radius_km, "remote_ok": profile.remote_ok,
                                 "languages": ";".join(profile.languages), "must_have_skills": ";".join(
                                     profile.skills), "start_date": profile.date_from, "end_date": profile.date_until,
                                 "offer_types": ";".join(profile.offer_types), "status": "open"})
        query["need_id"] = new_id
        st.success(f"{t('saved')} {new_id}")
    result = ws.match(query["text"], criteria, k=k, query_id=query["need_id"] or "pasted")
    result_map(result, criteria)
    shortlist(result, query["need_id"], query["text"], criteria, "need")


def offers_page() -> None:
    ws = workspace()
    offer_id, text, defaults = pick_record("offers", "offer", t("offer_text"), t("stored_offer"), t("offer_text"))
    criteria = criteria_form(f"offer_{offer_id}" if offer_id else "offer", "offers", defaults)
    if st.button(t("search_needs"), type="primary", key="offer_search") and text.strip():
        result = ws.match(text, criteria, against="needs", k=st.session_state.get("need_k", 10))
        st.session_state["offer_result"] = (text, offer_id, result)
    stored = st.session_state.get("offer_result")
    if stored and stored[0] == text:
        shortlist(ws.still_shown(stored[2], "needs"), stored[1], text, criteria, "offer")  # not erased since


def data_page() -> None:
    ws = workspace()
    kind = st.radio(t("kind"), ["offers", "needs"], horizontal=True, key="data_kind")
    upload = st.file_uploader(t("upload"), type=[s.lstrip(".") for s in READERS], key="data_upload")
    if upload is not None:
        try:  # the CLI's reader: BOM, UTF-8 check, CSV/TSV/Parquet/JSON, errors naming the file
            frame = read_table(upload.name, content=upload.getvalue())
        except SemmatchError as exc:
            st.error(plain(exc))
            return
        st.caption(t("preview"))
        st.dataframe(frame.head(20).to_pandas(), hide_index=True)
        columns = frame.columns
        guess = next((c for c in (f"{kind[:-1]}_id", "id") if c in columns), columns[0])
        id_column = st.selectbox(t("id_col"), columns, index=columns.index(guess), key="data_id")
        text_default = [c for c in ("title", "description") if c in columns] or columns[1:2]
        text_columns = st.multiselect(t("text_cols"), columns, default=text_default, key="data_text")
        mapping = ColumnMapping(id_column, tuple(text_columns))
        problems = row_errors(frame, kind=kind, mapping=mapping, file=upload.name)
        if problems:
            st.error(f"{len(problems)} {t('problems')}")
            st.dataframe(pl.DataFrame({"row": [p.row for p in problems], "column": [p.column for p in problems],
                                       "problem": [str(p).split(": ", 1)[-1] for p in problems]}).to_pandas(),
                         hide_index=True)
        if st.button(t("import"), type="primary", key="data_import"):
            bar = st.progress(0.0)
            try:
                counts = ws.import_frame(kind, frame, mapping, upload.name,
                                         progress=lambda share, label: bar.progress(min(share, 1.0), text=label))
                st.success(f"{t('imported')}: {plain(counts)}")
            except SemmatchError as exc:
                st.error(plain(exc))
    with st.expander(t("single")):
        with st.form(f"single_{kind}"):
            record_id = st.text_input("id", key="single_id")
            title = st.text_input("title", key="single_title")
            description = st.text_area("description")
            plz = st.text_input(t("plz"))
            condition = st.text_input(t("condition")) if kind == "offers" else ""
            submitted = st.form_submit_button("OK", key="single_submit")
        if submitted and record_id and (title or description):
            given = {"title": title, "description": description, "plz": plz, "condition": condition}
            record = {"id": record_id, **{k: v.strip() for k, v in given.items() if v and v.strip()}}
            try:
                outcome = ws.save_record(kind, record)
                st.success(plain(f"{record_id}: {outcome}"))
            except SemmatchError as exc:
                st.error(plain(exc))
        ids = ws.store.records(kind)["id"].to_list()
        if ids:
            chosen = st.selectbox(t("archive"), ids, key="archive_pick")
            if st.button(t("archive"), key="archive_button"):
                ws.archive(kind, chosen)
                st.success(plain(f"{chosen}: archived"))


def evaluation_page() -> None:
    ws = workspace()
    from semmatch.eval import tracking
    from semmatch.eval.benchmark import acceptance_rate

    st.subheader(t("runs"))
    runs = tracking.runs_table()
    if runs.height:
        st.dataframe(runs.drop("run_id").to_pandas(), hide_index=True)
    decisions = ws.store.decisions()
    st.subheader(t("over_time"))
    over_time = ws.decisions_over_time()
    if over_time.height:
        st.line_chart(over_time.to_pandas().set_index("period"))
    rate = acceptance_rate(decisions)
    st.metric(t("acceptance"), f"{rate * 100:.1f} %" if rate is not None else "–")
    accepted = ws.acceptance_over_time()
    if accepted.height:
        st.line_chart(accepted.to_pandas().set_index("period")["acceptance_rate"])
    st.subheader(t("exposure"))
    status = ws.store.offer_status()
    if status.height:
        top = status.sort("shown", descending=True).head(20).select("offer_id", "shown", "contacted", "placed")
        st.bar_chart(top.to_pandas().set_index("offer_id")["shown"])
    st.subheader(t("unmet"))
    unmet = unmet_needs(decisions.height, ws.store.records("needs").height)
    if unmet.height:
        st.caption(t("themes"))
        st.dataframe(unmet.group_by("theme").agg(pl.len().alias("needs"), pl.col("id").head(5).alias("examples"))
                     .sort("needs", descending=True).to_pandas(), hide_index=True)
        st.dataframe(unmet.to_pandas(), hide_index=True)


@st.cache_data(show_spinner=False, ttl=600)
def unmet_needs(decision_count: int, need_count: int) -> pl.DataFrame:
    """Unmet needs with their themes, recomputed when decisions or needs change (the arguments are the cache key)."""
    return workspace().unmet_needs()


def main() -> None:
    st.set_page_config(page_title="semmatch", page_icon="🤝", layout="wide")
    if not is_local_address(st.get_option("server.address")):
        st.set_option("client.showErrorDetails", "none")  # served on a network: no tracebacks for visitors
    st.session_state.setdefault("lang", "de")
    st.sidebar.radio("Sprache / Language", ["de", "en"], key="lang", horizontal=True)
    st.title(t("title"))
    if not login_gate():
        return
    st.sidebar.text_input(t("user"), key="user")
    pages = {t("need"): need_page, t("offers"): offers_page, t("data"): data_page, t("eval"): evaluation_page}
    choice = st.sidebar.radio(t("page"), list(pages), key=f"page_{st.session_state['lang']}")
    try:
        pages[choice]()
    except TextTooLongError as exc:
        st.error(t("text_too_long").format(length=f"{exc.length:,}".replace(",", "."),
                                           limit=f"{exc.limit:,}".replace(",", ".")))
    except SemmatchError as exc:
        st.error(plain(exc))
    st.sidebar.caption(f"{dt.date.today():%d.%m.%Y} · semmatch")


main()
