//! Where a mark goes: from a box in fractions of the page *as displayed* (origin top-left, after
//! /Rotate) to the page's default user space, and the matrix that keeps the mark upright.

/// A box in fractions of the displayed page: `x`, `y` from the top-left corner, all in `0..=1`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FracRect {
    /// Left edge, fraction of the displayed width.
    pub x: f64,
    /// Top edge, fraction of the displayed height.
    pub y: f64,
    /// Width, fraction of the displayed width.
    pub width: f64,
    /// Height, fraction of the displayed height.
    pub height: f64,
}

impl FracRect {
    /// Whether the box is finite, non-empty and inside the page.
    pub fn is_valid(&self) -> bool {
        let ok = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
        ok(self.x)
            && ok(self.y)
            && ok(self.width)
            && ok(self.height)
            && self.width > 0.0
            && self.height > 0.0
            && self.x + self.width <= 1.0 + 1e-9
            && self.y + self.height <= 1.0 + 1e-9
    }
}

/// The parts of a page that decide how it is displayed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PageGeometry {
    /// The visible region (CropBox, else MediaBox) as `[llx, lly, urx, ury]`, normalised.
    pub crop: [f64; 4],
    /// Clockwise rotation when displayed: 0, 90, 180 or 270.
    pub rotate: u16,
}

/// A mark's placement in user space.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Placement {
    /// The annotation rectangle `[llx, lly, urx, ury]` in default user space.
    pub rect: [f64; 4],
    /// The box's size as the reader sees it (points): the appearance's BBox is `[0 0 w h]`.
    pub size: (f64, f64),
    /// The appearance stream's /Matrix: rotates the upright drawing into user space.
    pub matrix: [f64; 6],
}

impl PageGeometry {
    /// Normalises a raw rotation (any multiple of 90, possibly negative); others count as 0.
    pub(crate) fn normalise_rotate(raw: i64) -> u16 {
        let r = raw.rem_euclid(360);
        if r % 90 == 0 { r as u16 } else { 0 }
    }

    /// The displayed page size in points (width, height).
    pub(crate) fn displayed_size(&self) -> (f64, f64) {
        let w = self.crop[2] - self.crop[0];
        let h = self.crop[3] - self.crop[1];
        if self.rotate.is_multiple_of(180) {
            (w, h)
        } else {
            (h, w)
        }
    }

    /// Maps a displayed point (fractions, origin top-left) to user space.
    pub(crate) fn user_point(&self, u: f64, v: f64) -> (f64, f64) {
        let [llx, lly, urx, ury] = self.crop;
        let (w, h) = (urx - llx, ury - lly);
        match self.rotate {
            90 => (llx + v * w, lly + u * h),
            180 => (urx - u * w, lly + v * h),
            270 => (urx - v * w, ury - u * h),
            _ => (llx + u * w, ury - v * h),
        }
    }

    /// Where a box goes, and how its appearance is turned so that it reads upright.
    pub(crate) fn place(&self, b: &FracRect) -> Placement {
        let (a, c) = (
            self.user_point(b.x, b.y),
            self.user_point(b.x + b.width, b.y + b.height),
        );
        let rect = [a.0.min(c.0), a.1.min(c.1), a.0.max(c.0), a.1.max(c.1)];
        let (dw, dh) = self.displayed_size();
        // The viewer turns the page clockwise by /Rotate, so the drawing is turned the other way.
        let matrix = match self.rotate {
            90 => [0.0, 1.0, -1.0, 0.0, 0.0, 0.0],
            180 => [-1.0, 0.0, 0.0, -1.0, 0.0, 0.0],
            270 => [0.0, -1.0, 1.0, 0.0, 0.0, 0.0],
            _ => [1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
        };
        Placement {
            rect,
            size: (b.width * dw, b.height * dh),
            matrix,
        }
    }
}

/// Where a point of the appearance (form space, inside `[0 0 w h]`) lands in user space, by the
/// rule of ISO 32000-1 §12.5.5: the transformed BBox is fitted onto /Rect.
#[cfg(test)]
pub(crate) fn appearance_user_point(p: &Placement, x: f64, y: f64) -> (f64, f64) {
    let [a, b, c, d, e, f] = p.matrix;
    let t = |x: f64, y: f64| (a * x + c * y + e, b * x + d * y + f);
    let (w, h) = p.size;
    let corners = [t(0.0, 0.0), t(w, 0.0), t(0.0, h), t(w, h)];
    let minx = corners.iter().map(|c| c.0).fold(f64::INFINITY, f64::min);
    let miny = corners.iter().map(|c| c.1).fold(f64::INFINITY, f64::min);
    let maxx = corners
        .iter()
        .map(|c| c.0)
        .fold(f64::NEG_INFINITY, f64::max);
    let maxy = corners
        .iter()
        .map(|c| c.1)
        .fold(f64::NEG_INFINITY, f64::max);
    let sx = (p.rect[2] - p.rect[0]) / (maxx - minx);
    let sy = (p.rect[3] - p.rect[1]) / (maxy - miny);
    let (tx, ty) = t(x, y);
    (p.rect[0] + (tx - minx) * sx, p.rect[1] + (ty - miny) * sy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The displayed position (fractions, origin top-left) of a user-space point.
    fn to_display(g: &PageGeometry, x: f64, y: f64) -> (f64, f64) {
        let [llx, lly, urx, ury] = g.crop;
        let (w, h) = (urx - llx, ury - lly);
        match g.rotate {
            90 => ((y - lly) / h, (x - llx) / w),
            180 => ((urx - x) / w, (y - lly) / h),
            270 => ((ury - y) / h, (urx - x) / w),
            _ => ((x - llx) / w, (ury - y) / h),
        }
    }

    fn geometry() -> impl Strategy<Value = PageGeometry> {
        (
            -500.0..500.0f64,
            -500.0..500.0f64,
            50.0..2000.0f64,
            50.0..2000.0f64,
            prop_oneof![Just(0u16), Just(90), Just(180), Just(270)],
        )
            .prop_map(|(x, y, w, h, rotate)| PageGeometry {
                crop: [x, y, x + w, y + h],
                rotate,
            })
    }

    fn frac_rect() -> impl Strategy<Value = FracRect> {
        (0.0..0.9f64, 0.0..0.9f64, 0.01..1.0f64, 0.01..1.0f64).prop_map(|(x, y, w, h)| FracRect {
            x,
            y,
            width: w.min(1.0 - x),
            height: h.min(1.0 - y),
        })
    }

    proptest! {
        /// The annotation rectangle stays inside the visible region and has the box's area.
        #[test]
        fn rect_inside_crop(g in geometry(), b in frac_rect()) {
            let p = g.place(&b);
            let eps = 1e-6;
            prop_assert!(p.rect[0] >= g.crop[0] - eps && p.rect[2] <= g.crop[2] + eps);
            prop_assert!(p.rect[1] >= g.crop[1] - eps && p.rect[3] <= g.crop[3] + eps);
            let area = (p.rect[2] - p.rect[0]) * (p.rect[3] - p.rect[1]);
            prop_assert!((area - p.size.0 * p.size.1).abs() < 1e-6 * area.max(1.0));
        }

        /// The appearance's upright corners land on the displayed box's matching corners: the
        /// top-left of the drawing is the top-left of the box as the reader sees it.
        #[test]
        fn appearance_reads_upright(g in geometry(), b in frac_rect()) {
            let p = g.place(&b);
            let (w, h) = p.size;
            let checks = [
                ((0.0, h), (b.x, b.y)),
                ((w, h), (b.x + b.width, b.y)),
                ((0.0, 0.0), (b.x, b.y + b.height)),
                ((w, 0.0), (b.x + b.width, b.y + b.height)),
            ];
            for ((fx, fy), (du, dv)) in checks {
                let (ux, uy) = appearance_user_point(&p, fx, fy);
                let (u, v) = to_display(&g, ux, uy);
                prop_assert!((u - du).abs() < 1e-6 && (v - dv).abs() < 1e-6,
                    "corner ({fx},{fy}) -> ({u},{v}), want ({du},{dv}) for {g:?}");
            }
        }

        /// `to_user` and the display mapping are inverse.
        #[test]
        fn round_trip(g in geometry(), u in 0.0..1.0f64, v in 0.0..1.0f64) {
            let (x, y) = g.user_point(u, v);
            let (u2, v2) = to_display(&g, x, y);
            prop_assert!((u - u2).abs() < 1e-9 && (v - v2).abs() < 1e-9);
        }
    }

    #[test]
    fn rotation_is_normalised() {
        assert_eq!(PageGeometry::normalise_rotate(-90), 270);
        assert_eq!(PageGeometry::normalise_rotate(450), 90);
        assert_eq!(PageGeometry::normalise_rotate(45), 0);
    }

    #[test]
    fn displayed_size_swaps_on_quarter_turns() {
        let g = PageGeometry {
            crop: [0.0, 0.0, 100.0, 200.0],
            rotate: 90,
        };
        assert_eq!(g.displayed_size(), (200.0, 100.0));
        // Displayed top-left of a 90° page is the user-space origin.
        assert_eq!(g.user_point(0.0, 0.0), (0.0, 0.0));
    }

    #[test]
    fn invalid_boxes_are_refused() {
        let bad = [
            FracRect {
                x: -0.1,
                y: 0.0,
                width: 0.5,
                height: 0.5,
            },
            FracRect {
                x: 0.6,
                y: 0.0,
                width: 0.5,
                height: 0.5,
            },
            FracRect {
                x: 0.0,
                y: 0.0,
                width: 0.0,
                height: 0.5,
            },
            FracRect {
                x: f64::NAN,
                y: 0.0,
                width: 0.1,
                height: 0.5,
            },
        ];
        assert!(bad.iter().all(|b| !b.is_valid()));
        assert!(
            FracRect {
                x: 0.5,
                y: 0.5,
                width: 0.5,
                height: 0.5
            }
            .is_valid()
        );
    }
}
