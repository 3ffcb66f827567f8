"""GLSL of the brick volume: a ray march that walks the page table brick by brick.

The ray enters the level-0 box as vispy's volume does (box faces, near plane)
and is cut into segments, one per page-table cell: the cell names the brick
to sample (the finest resident one there, ``core.page_table``), and the
segment is sampled at that brick's level with a step of ``relative_step_size``
of its voxels, unless the brick's value range (``u_ranges``) shows that it
cannot change the result (``MODES[...]["skip"]``). Every rendering mode
weights a sample by its step over the step of the finest level the view
plans (``u_unit``: the level that matches screen pixels at the focus), so
opacity and attenuation do not change with the level of a brick and look,
at any zoom, as napari's do over the level on screen.
Positions are level-0 data coordinates relative to the visual's local origin
(x, y, z: the displayed axes reversed).

Where the ray crosses a page-table cell flagged as failed (``core.page_table``)
the pixel is hatched in the failure colour: stripes fixed to the failed
region's surface, over whatever the ray shows there (a coarser brick, or
nothing), in every mode and whether the overlay is on or not. The
scale-debug overlay tints each pixel in the level colour of the brick its
colour comes from and outlines that brick: where the ray enters or leaves it
within ``u_outline`` (about a screen pixel) of one of its edges.
"""

from __future__ import annotations

from napari_progressive.core.bricks import BORDER, BRICK, BRICK_TEXELS
from napari_progressive.core.page_table import FAILED_FLAG
from napari_progressive.render.palette import FAILED_COLOUR
from napari_progressive.render.shaders import COLOUR, page_sampling

#: Levels the page table may describe.
MAX_ROWS = 32
#: Clipping planes the shader applies, at most.
MAX_CLIPPING_PLANES = 8
#: Brick segments along one ray, and samples within one segment, at most.
MAX_SEGMENTS = 256
MAX_SEGMENT_STEPS = 1024
#: The failure hatch: stripes this many voxels (of the failed cell's level)
#: apart, drawn at this opacity over what the ray shows.
HATCH_PERIOD = 8.0
HATCH_ALPHA = 0.75
#: Half the width of a brick's outline in the overlay, in screen pixels at the focus.
OUTLINE_PX = 1.0

VERTEX = """
attribute vec3 a_position;
varying vec3 v_position;
varying vec4 v_nearpos;
varying vec4 v_farpos;
void main() {
    v_position = a_position;
    // Where the ray through this vertex meets the near and far planes (as vispy's volume).
    vec4 pos_in_cam = $viewtransformf(vec4(v_position, 1.0));
    pos_in_cam.z = -pos_in_cam.w;
    v_nearpos = $viewtransformi(pos_in_cam);
    pos_in_cam.z = pos_in_cam.w;
    v_farpos = $viewtransformi(pos_in_cam);
    gl_Position = $transform(vec4(v_position, 1.0));
}
"""

_CLIP_UNIFORMS = "\n".join(
    f"uniform vec3 u_clip_pos{i};\nuniform vec3 u_clip_normal{i};"
    for i in range(MAX_CLIPPING_PLANES)
)


def clip_tests(planes: int) -> str:
    """The body of ``clipped(p)`` over the first ``planes`` clipping planes."""
    tests = "\n".join(
        f"    if (dot(p - u_clip_pos{i}, u_clip_normal{i}) < 0.0) return true;"
        for i in range(min(planes, MAX_CLIPPING_PLANES))
    )
    return f"{tests}\n    return false;"


_MARCH = f"""
uniform sampler3D u_table;
uniform sampler3D u_ranges;
uniform vec3 u_table_shape;
uniform sampler2D u_rows;
uniform float u_n_rows;
uniform vec3 u_page_shape;
uniform vec3 u_slot_grid;
uniform vec3 u_box_lo;
uniform vec3 u_box_hi;
uniform float u_unit;
uniform float u_relative_step_size;
uniform float u_coarse_steps;
uniform float u_nudge;
uniform float u_threshold;
uniform float u_attenuation;
uniform float u_mip_cutoff;
uniform float u_minip_cutoff;
uniform float u_overlay;
uniform float u_outline;
uniform float u_plane_on;
uniform vec3 u_plane_pos;
uniform vec3 u_plane_normal;
uniform float u_plane_half;
{_CLIP_UNIFORMS}
varying vec3 v_position;
varying vec4 v_nearpos;
varying vec4 v_farpos;

const float BRICK = {float(BRICK)};
const float BORDER = {float(BORDER)};
const float TEXELS = {float(BRICK_TEXELS)};
const float FAR = 1e30;
const float FAILED_FLAG = {float(FAILED_FLAG)};
const vec3 FAILED = vec3{tuple(float(c) for c in FAILED_COLOUR)};

// The brick the current segment samples.
vec3 g_slot;   // first texel of its slot (x, y, z)
float g_page;
vec3 g_lo;     // its first corner (local)
vec3 g_voxel;  // its level's voxel size (level-0 units)
float g_row;   // its level's row in the page table
vec2 g_range;  // its lowest and highest value, border included
bool g_edge;   // whether the ray passes near one of its edges (overlay only)
// The page-table cell at the segment's start.
bool g_failed; // flagged: a failed brick lies there
vec3 g_cell_lo;
vec3 g_cell_voxel;
// Whether this pixel lies on a stripe of the failure hatch.
bool g_hatch;

// A brick saved for the refinement after the march (see save_brick).
vec3 s_slot;
float s_page;
vec3 s_lo;
vec3 s_voxel;

void save_brick() {{ s_slot = g_slot; s_page = g_page; s_lo = g_lo; s_voxel = g_voxel; }}
void restore_brick() {{ g_slot = s_slot; g_page = s_page; g_lo = s_lo; g_voxel = s_voxel; }}

vec4 row_texel(float row, float i) {{
    return texture2D(u_rows, vec2((i + 0.5) / 4.0, (row + 0.5) / {float(MAX_ROWS)}));
}}

// The unit normal n (the ray's opposite where n is 0) turned to face the ray.
vec3 facing(vec3 n, vec3 ray) {{
    n = length(n) > 0.0 ? normalize(n) : -ray;
    return dot(n, ray) > 0.0 ? -n : n;
}}

vec3 safe_inverse(vec3 d) {{
    vec3 s = vec3(d.x >= 0.0 ? 1.0 : -1.0, d.y >= 0.0 ? 1.0 : -1.0, d.z >= 0.0 ? 1.0 : -1.0);
    return 1.0 / (s * max(abs(d), vec3(1e-20)));
}}

// Distance from p (inside [lo, hi]) along the ray until it leaves the box.
float exit_distance(vec3 p, vec3 inv, vec3 lo, vec3 hi) {{
    vec3 t = max((lo - p) * inv, (hi - p) * inv);
    return max(min(t.x, min(t.y, t.z)), 0.0);
}}

// Distance from p along the ray until it enters [lo, hi] (FAR if it never does).
float entry_distance(vec3 p, vec3 inv, vec3 lo, vec3 hi) {{
    vec3 a = (lo - p) * inv;
    vec3 b = (hi - p) * inv;
    vec3 near = min(a, b);
    vec3 far = max(a, b);
    float t0 = max(near.x, max(near.y, near.z));
    float t1 = min(far.x, min(far.y, far.z));
    return (t0 > 0.0 && t1 >= t0) ? t0 : FAR;
}}

bool clipped(vec3 p) {{
    $clip_tests
}}

// Finds the brick to sample at p: sets the g_ state and found; returns the
// distance along the ray to the end of the segment (the page-table cell, the
// brick, or the entry into a finer level's box).
float find_segment(vec3 p, vec3 inv, out bool found) {{
    found = false;
    g_failed = false;
    float end = FAR;
    for (int i = 0; i < {MAX_ROWS}; i++) {{
        float row = float(i);
        if (row >= u_n_rows) break;
        vec4 corner = row_texel(row, 0.0);
        vec3 extent = row_texel(row, 1.0).xyz;
        vec3 size = row_texel(row, 2.0).xyz;
        vec3 cell = floor((p - corner.xyz) / extent);
        bool last = row >= u_n_rows - 1.0;
        if (!last && (any(lessThan(cell, vec3(0.0))) || any(greaterThanEqual(cell, size)))) {{
            end = min(end, entry_distance(p, inv, corner.xyz, corner.xyz + size * extent));
            continue;
        }}
        vec3 cell_lo = corner.xyz + cell * extent;
        end = min(end, exit_distance(p, inv, cell_lo, cell_lo + extent));
        if (any(lessThan(cell, vec3(0.0))) || any(greaterThanEqual(cell, size))) return end;
        vec3 tc = (cell + vec3(0.0, 0.0, corner.w) + 0.5) / u_table_shape;
        vec4 t = texture3D(u_table, tc);
        float a = floor(t.a * 255.0 + 0.5);
        g_failed = a > FAILED_FLAG - 0.5;
        g_cell_lo = cell_lo;
        g_cell_voxel = extent / BRICK;
        float brick_row = mod(a, FAILED_FLAG) - 1.0;
        if (brick_row < 0.0) return end;
        vec4 brick_corner = row_texel(brick_row, 0.0);
        vec3 brick_extent = row_texel(brick_row, 1.0).xyz;
        g_lo = brick_corner.xyz + floor((p - brick_corner.xyz) / brick_extent) * brick_extent;
        end = min(end, exit_distance(p, inv, g_lo, g_lo + brick_extent));
        g_voxel = brick_extent / BRICK;
        float s = floor(t.r * 255.0 + 0.5) + 256.0 * floor(t.g * 255.0 + 0.5);
        g_page = floor(t.b * 255.0 + 0.5);
        g_slot = TEXELS * vec3(
            mod(s, u_slot_grid.x),
            mod(floor(s / u_slot_grid.x), u_slot_grid.y),
            floor(s / (u_slot_grid.x * u_slot_grid.y))
        );
        g_row = brick_row;
        g_range = texture3D(u_ranges, tc).rg;
        found = true;
        return end;
    }}
    return end;
}}

// The data value at p, from the current brick.
float sample_value(vec3 p) {{
    vec3 texel = g_slot + BORDER + (p - g_lo) / g_voxel;
    texel = clamp(texel, g_slot + 0.5, g_slot + TEXELS - 0.5);
    return data_value(page_texel(g_page, texel / u_page_shape));
}}

// Distance from q (on the box [lo, hi]) to the box's nearest edge: its middle face distance.
float edge_distance(vec3 q, vec3 lo, vec3 hi) {{
    vec3 d = min(abs(q - lo), abs(hi - q));
    return max(min(d.x, d.y), min(max(d.x, d.y), d.z));
}}

// Whether the ray through p enters or leaves the current brick (its part inside
// the volume) within u_outline of one of the brick's edges.
bool near_brick_edge(vec3 p, vec3 ray, vec3 inv) {{
    vec3 lo = max(g_lo, u_box_lo);
    vec3 hi = min(g_lo + g_voxel * BRICK, u_box_hi);
    vec3 enters = p - ray * exit_distance(p, -inv, lo, hi);
    vec3 leaves = p + ray * exit_distance(p, inv, lo, hi);
    return min(edge_distance(enters, lo, hi), edge_distance(leaves, lo, hi)) < u_outline;
}}

// The colour of a pixel whose colour came from the brick of level ``row`` (-1:
// none; ``edge``: the ray passes near its edge): the overlay's tint and outline,
// then the failure hatch over it.
vec4 finish(vec4 c, float row, bool edge) {{
    if (row < 0.0) {{
        c = vec4(0.0);
    }} else if (u_overlay > 0.5) {{
        vec3 level = row_texel(row, 3.0).rgb;
        c = edge ? vec4(level, 1.0) : vec4(mix(c.rgb, level, 0.35), c.a);
    }}
    if (g_hatch) {{
        float a = {HATCH_ALPHA} + c.a * (1.0 - {HATCH_ALPHA});
        c = vec4((FAILED * {HATCH_ALPHA} + c.rgb * c.a * (1.0 - {HATCH_ALPHA})) / a, a);
    }}
    return c;
}}

void main() {{
    vec3 farpos = v_farpos.xyz / v_farpos.w;
    vec3 nearpos = v_nearpos.xyz / v_nearpos.w;
    vec3 ray = normalize(farpos - nearpos);
    vec3 inv = safe_inverse(ray);
    // Start at the box's front face or the near plane; end at this back-face fragment.
    float start = dot(nearpos - v_position, ray);
    vec3 a = (u_box_lo - v_position) * inv;
    vec3 b = (u_box_hi - v_position) * inv;
    vec3 entry = min(a, b);
    start = max(start, max(entry.x, max(entry.y, entry.z)));
    float total = -start;
    if (total <= 0.0) discard;
    vec3 front = v_position + ray * start;
    // Plane depiction: only the slab within u_plane_half of the plane, sampled at
    // the middles of equal steps (at least one), whatever the level of a brick.
    float plane_dt = 0.0;
    if (u_plane_on > 0.5) {{
        float d0 = dot(front - u_plane_pos, u_plane_normal);
        float dn = dot(ray, u_plane_normal);
        float lo = 0.0;
        float hi = total;
        if (abs(dn) > 1e-12) {{
            // the plane itself must cross the volume here (napari's outline of the plane)
            float at = -d0 / dn;
            if (at < 0.0 || at > total) discard;
            float a = (-u_plane_half - d0) / dn;
            float b = (u_plane_half - d0) / dn;
            lo = max(min(a, b), 0.0);
            hi = min(max(a, b), total);
        }} else if (abs(d0) > u_plane_half) {{
            discard;
        }}
        if (hi <= lo) discard;
        plane_dt = (hi - lo) / max(1.0, floor((hi - lo) / (u_unit * u_relative_step_size) + 0.5));
        front += ray * (lo + 0.5 * plane_dt);
        total = hi - lo - 0.5 * plane_dt;
    }}
    vec3 depth_point = front;
    bool sampled = false;
    bool done = false;
    // where the ray first meets a failed cell, in that cell's voxels
    bool failed_seen = false;
    vec3 failed_at = vec3(0.0);
    // Samples lie on one grid along the ray from the front face, as in vispy's
    // volume: level-0 steps that divide the ray evenly, and whole multiples of
    // them at coarser levels.
    // While the camera moves (software GL) steps are u_coarse_steps times longer and
    // weigh as much more, so that opacity and attenuation stay as they are.
    float coarse = u_plane_on > 0.5 ? 1.0 : u_coarse_steps;
    float dt0 = u_plane_on > 0.5
        ? plane_dt
        : total / max(1.0, floor(total / (u_unit * u_relative_step_size * coarse) + 0.5));
    $before_loop
    float t = 0.0;
    for (int segment = 0; segment < {MAX_SEGMENTS}; segment++) {{
        if (t >= total || done) break;
        // step just inside the next cell: a nudge float32 can still resolve here
        float nudge = max(u_nudge * u_unit, 4e-7 * (abs(t) + length(front)));
        bool found;
        vec3 start_at = front + ray * (t + nudge);
        float span_left = find_segment(start_at, inv, found);
        float end = min(total, t + nudge + max(span_left, nudge));
        if (g_failed && !failed_seen && !clipped(start_at)) {{
            failed_seen = true;
            failed_at = (start_at - g_cell_lo) / g_cell_voxel;
        }}
        if (found && !($skip)) {{
            g_edge = u_overlay > 0.5 && near_brick_edge(start_at, ray, inv);
            float voxel = min(g_voxel.x, min(g_voxel.y, g_voxel.z));
            float dt = u_plane_on > 0.5 ? dt0 : dt0 * max(1.0, floor(voxel / u_unit + 0.5));
            float weight = dt / dt0 * coarse;
            float s = ceil(t / dt - 1e-4) * dt;
            for (int k = 0; k < {MAX_SEGMENT_STEPS}; k++) {{
                if (s >= end || done) break;
                vec3 loc = front + ray * s;
                if (!clipped(loc)) {{
                    float val = sample_value(loc);
                    sampled = true;
                    $in_loop
                }}
                s += dt;
            }}
        }}
        t = end;
    }}
    g_hatch = failed_seen
        && mod(failed_at.x + failed_at.y + failed_at.z, {HATCH_PERIOD}) < {HATCH_PERIOD / 2};
    if (!sampled && !g_hatch) discard;
    $after_loop
    vec4 iproj = $viewtransformf(vec4(depth_point, 1.0));
    iproj.z /= iproj.w;
    gl_FragDepth = (iproj.z + 1.0) / 2.0;
}}
"""

FRAGMENT = page_sampling(3, body="$page_lookup") + COLOUR + _MARCH

#: A brick of one value drawn fully transparent: nothing in it shows.
TRANSPARENT_BRICK = "g_range.x == g_range.y && colour_of(g_range.x).a <= 0.0"


def _extremum(cutoff: str, better: str, skip: str, saturated: str) -> dict[str, str]:
    """MIP (``better`` '>') or minip ('<'): the best sample, refined around it as vispy does."""
    return {
        "before_loop": f"""
            float best = {cutoff}; float best_row = -1.0; float best_dt = 0.0;
            bool best_edge = false;""",
        "skip": skip,
        "in_loop": f"""
            if (val {better} best) {{
                best = val; best_row = g_row; best_edge = g_edge; depth_point = loc; best_dt = dt;
                save_brick();
                if (best {better}= {saturated}) done = true;
            }}""",
        "after_loop": f"""
            if (best_row < 0.0 && !g_hatch) discard;
            // refine around the best sample in tenths of its step, as vispy does
            restore_brick();
            vec3 at = depth_point - ray * (0.5 * best_dt);
            for (int i = 0; i < 10; i++) {{
                if (best_row < 0.0) break;
                float v = sample_value(at);
                if (v {better} best) {{ best = v; depth_point = at; }}
                at += ray * (0.1 * best_dt);
            }}
            gl_FragColor = finish(colour_of(best), best_row, best_edge);""",
    }


def _first_hit(condition: str, skip: str, shade: str) -> dict[str, str]:
    """The first sample where ``condition`` holds, coloured by ``shade`` in its brick."""
    return {
        "before_loop": """
            bool hit = false; float hit_row = -1.0; float hit_val = 0.0; float hit_dt = 0.0;
            bool hit_edge = false;""",
        "skip": skip,
        "in_loop": f"""
            if ({condition}) {{
                hit = true; hit_row = g_row; hit_edge = g_edge; hit_val = val; hit_dt = dt;
                depth_point = loc; done = true;
                save_brick();
            }}""",
        "after_loop": f"""
            if (!hit && !g_hatch) discard;
            if (hit) {{
                restore_brick();{shade}
            }}
            gl_FragColor = finish(hit ? gl_FragColor : vec4(0.0), hit_row, hit_edge);""",
    }


#: Per rendering mode: what runs before the march, for each sample and after,
#: and when a brick is skipped whole (its value range ``g_range`` cannot change
#: the result). A sample has ``val`` (data units), ``loc``, ``weight`` (its step
#: over the finest planned step), ``dt`` (the step), ``g_row`` and ``g_edge``
#: (its brick, for ``finish``); ``done``
#: ends the march early. Refinement after the march samples the brick that
#: ``save_brick`` kept (its border covers a step either side).
MODES: dict[str, dict[str, str]] = {
    "mip": _extremum("u_mip_cutoff", ">", "g_range.y <= best", "max(u_clim.x, u_clim.y)"),
    "minip": _extremum("u_minip_cutoff", "<", "g_range.x >= best", "min(u_clim.x, u_clim.y)"),
    "attenuated_mip": {
        "before_loop": """
            float best = u_mip_cutoff; float best_row = -1.0; bool best_edge = false;
            float sumval = 0.0;
            float span = u_clim.y - u_clim.x;""",
        # below the contrast range a brick adds no attenuation and cannot win
        "skip": "g_range.y <= u_clim.x && best >= g_range.y * exp(-u_attenuation * (sumval - 1.0))",
        "in_loop": """
            float norm = clamp((val - u_clim.x) / (span != 0.0 ? span : 1.0), 0.0, 1.0);
            sumval += u_relative_step_size * weight * norm;
            float scale = exp(-u_attenuation * (sumval - 1.0));
            if (best > scale * u_clim.y) {
                done = true;
            } else if (val * scale > best) {
                best = val * scale; best_row = g_row; best_edge = g_edge; depth_point = loc;
            }""",
        "after_loop": """
            if (best_row < 0.0 && !g_hatch) discard;
            gl_FragColor = finish(colour_of(best), best_row, best_edge);""",
    },
    "translucent": {
        "before_loop": "vec4 acc = vec4(0.0); float first_row = -1.0; bool first_edge = false;",
        "skip": TRANSPARENT_BRICK,
        "in_loop": """
            vec4 c = colour_of(val);
            float alpha = 1.0 - pow(max(1.0 - c.a, 0.0), weight);
            if (alpha > 0.0 && first_row < 0.0) {
                first_row = g_row; first_edge = g_edge; depth_point = loc;
            }
            acc.rgb += (1.0 - acc.a) * alpha * c.rgb;
            acc.a += (1.0 - acc.a) * alpha;
            if (acc.a > 0.99) done = true;""",
        "after_loop": """
            if (acc.a > 0.0) acc.rgb /= acc.a;
            gl_FragColor = finish(acc, first_row, first_edge);""",
    },
    "additive": {
        "before_loop": "vec4 acc = vec4(0.0); float first_row = -1.0; bool first_edge = false;",
        "skip": "false",
        "in_loop": """
            vec4 c = clamp(colour_of(val), 0.0, 1.0);
            acc = 1.0 - (1.0 - acc) * pow(1.0 - c, vec4(weight));
            if (first_row < 0.0) { first_row = g_row; first_edge = g_edge; }""",
        "after_loop": "gl_FragColor = finish(acc, first_row, first_edge);",
    },
    "average": {
        "before_loop": """
            float total_weight = 0.0; float mean = 0.0; float first_row = -1.0;
            bool first_edge = false;""",
        "skip": "false",
        "in_loop": """
            total_weight += weight;
            mean += (val - mean) * weight / total_weight;
            if (first_row < 0.0) { first_row = g_row; first_edge = g_edge; }""",
        "after_loop": "gl_FragColor = finish(colour_of(mean), first_row, first_edge);",
    },
    "iso": _first_hit(
        "val > u_threshold",
        "g_range.y <= u_threshold",
        """
                // back up one step and find the crossing in tenths of a step
                vec3 at = depth_point - ray * hit_dt;
                float crossing = hit_val;
                for (int i = 0; i < 10; i++) {
                    float v = sample_value(at);
                    if (v > u_threshold) { crossing = v; break; }
                    at += ray * hit_dt * 0.1;
                }
                // The gradient from six neighbours a voxel away (within the brick's
                // border), the brightest of them as the surface's value, a headlight.
                float best = crossing;
                vec3 n = vec3(0.0);
                for (int axis = 0; axis < 3; axis++) {
                    vec3 e = vec3(0.0);
                    e[axis] = g_voxel[axis];
                    float lo = sample_value(at - e);
                    float hi = sample_value(at + e);
                    n[axis] = lo - hi;
                    best = max(best, max(lo, hi));
                }
                n = facing(n, ray);
                float lambert = clamp(dot(n, -ray), 0.0, 1.0);
                float specular = pow(max(dot(n, -ray), 0.0), 40.0);
                float lit = best * (0.2 + lambert) + specular * (u_clim.y - u_clim.x);
                gl_FragColor = vec4(colour_of(lit).rgb, colour_of(best).a);
                depth_point = at;""",
    ),
    # napari's Labels in 3D: the first voxel of a visible label, lit by the
    # gradient of "labelled" around it (a headlight)
    "iso_categorical": _first_hit(
        "colour_of(val).a > 0.0",
        TRANSPARENT_BRICK,
        """
                vec3 n = vec3(0.0);
                for (int axis = 0; axis < 3; axis++) {
                    vec3 e = vec3(0.0);
                    e[axis] = g_voxel[axis];
                    float lo = colour_of(sample_value(depth_point - e)).a > 0.0 ? 1.0 : 0.0;
                    float hi = colour_of(sample_value(depth_point + e)).a > 0.0 ? 1.0 : 0.0;
                    n[axis] = lo - hi;
                }
                float lambert = clamp(dot(facing(n, ray), -ray), 0.0, 1.0);
                vec4 c = colour_of(hit_val);
                gl_FragColor = vec4(c.rgb * (0.4 + 0.6 * lambert), c.a);""",
    ),
}
