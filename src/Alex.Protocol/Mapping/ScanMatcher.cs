// Scan-to-map matching as Hector SLAM does it (Kohlbrecher et al., "A Flexible and Scalable SLAM System
// with Full 3D Motion Estimation", SSRR 2011, §IV; docs/mapping.md §2): find the pose ξ = (x, y, θ) that
// puts the scan's hits on occupied cells, minimising Σ (1 − M(Sᵢ(ξ)))² by Gauss-Newton, where M is the
// map's occupancy probability interpolated bilinearly between cell centres and Sᵢ(ξ) the i-th hit in the
// map frame. A weak pull towards the odometry pose keeps the solve defined where the room gives no grip
// (a long bare wall fixes only one direction).
//
// Work is in cell units, so the map's gradient and the steps are of order one at every resolution.
namespace Alex.Protocol.Mapping;

/// <summary>Gauss-Newton scan matching against one grid. Pure.</summary>
public static class ScanMatcher
{
    /// <summary>Largest rotation one iteration may take (Hector's limit): a wild step is a bad fit, not a turn.</summary>
    private const double MaxRotationStep = 0.2;

    private const int MaxHalvings = 6;

    /// <summary>
    /// Refines <paramref name="guess"/> so the scan's hits fit the map. <paramref name="priorWeight"/> pulls
    /// towards <paramref name="prior"/> (0: none), as if that many hits of full gradient agreed with it.
    /// </summary>
    public static MapPose Match(OccupancyGrid grid, MapScan scan, MapPose guess, int iterations, MapPose prior, double priorWeight = 0)
    {
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentNullException.ThrowIfNull(scan);
        var c = grid.CellCm;
        // Pose in cells; hits in cells, robot frame.
        double x = guess.X / c, y = guess.Y / c, theta = guess.Theta;
        double px = prior.X / c, py = prior.Y / c;
        var hits = new List<(double X, double Y)>(scan.Rays.Count);
        foreach (var r in scan.Rays)
        {
            if (r.Hit)
            {
                hits.Add((r.X / c, r.Y / c));
            }
        }

        if (hits.Count < 3)
        {
            return guess;
        }

        // A turn of δθ moves a hit at radius r by r·δθ cells: weigh the rotation's pull by the hits' mean r².
        var meanRadius2 = hits.Average(h => (h.X * h.X) + (h.Y * h.Y));

        var rotationWeight = priorWeight * meanRadius2;
        var cost = Cost(grid, hits, x, y, theta, priorWeight, rotationWeight, px, py, prior.Theta);
        for (var iteration = 0; iteration < iterations; iteration++)
        {
            double h00 = 0, h01 = 0, h02 = 0, h11 = 0, h12 = 0, h22 = 0, g0 = 0, g1 = 0, g2 = 0;
            var (sin, cos) = Math.SinCos(theta);
            foreach (var (sx, sy) in hits)
            {
                var wx = x + (cos * sx) - (sin * sy);
                var wy = y + (sin * sx) + (cos * sy);
                var (m, dx, dy) = Interpolate(grid, wx, wy);
                var residual = 1 - m;
                var dTheta = (((-sin * sx) - (cos * sy)) * dx) + (((cos * sx) - (sin * sy)) * dy);
                g0 += dx * residual;
                g1 += dy * residual;
                g2 += dTheta * residual;
                h00 += dx * dx;
                h01 += dx * dy;
                h02 += dx * dTheta;
                h11 += dy * dy;
                h12 += dy * dTheta;
                h22 += dTheta * dTheta;
            }

            if (priorWeight > 0)
            {
                h00 += priorWeight;
                h11 += priorWeight;
                h22 += rotationWeight;
                g0 += priorWeight * (px - x);
                g1 += priorWeight * (py - y);
                g2 += rotationWeight * MapPose.Normalize(prior.Theta - theta);
            }

            if (!Solve(h00, h01, h02, h11, h12, h22, g0, g1, g2, out var stepX, out var stepY, out var stepTheta))
            {
                break;
            }

            stepTheta = Math.Clamp(stepTheta, -MaxRotationStep, MaxRotationStep);

            // The map is piecewise linear and its peaks stay below 1, so a full Gauss-Newton step overshoots a
            // wall's cell: halve the step until the cost falls (a backtracking line search).
            var improved = false;
            for (var halving = 0; halving < MaxHalvings && !improved; halving++)
            {
                var (nx, ny, nt) = (x + stepX, y + stepY, MapPose.Normalize(theta + stepTheta));
                var next = Cost(grid, hits, nx, ny, nt, priorWeight, rotationWeight, px, py, prior.Theta);
                if (next < cost)
                {
                    (x, y, theta, cost, improved) = (nx, ny, nt, next, true);
                }
                else
                {
                    (stepX, stepY, stepTheta) = (stepX / 2, stepY / 2, stepTheta / 2);
                }
            }

            if (!improved || (Math.Abs(stepX) + Math.Abs(stepY) < 1e-3 && Math.Abs(stepTheta) < 1e-4))
            {
                break;
            }
        }

        return new MapPose(x * c, y * c, theta);
    }

    /// <summary>
    /// The occupancy probability at (u, v) in cells (cell (i, j)'s centre is at (i + ½, j + ½)), bilinear between the
    /// four nearest centres, and its derivatives along u and v.
    /// </summary>
    public static (double Value, double DU, double DV) Interpolate(OccupancyGrid grid, double u, double v)
    {
        ArgumentNullException.ThrowIfNull(grid);
        var fu = u - 0.5;
        var fv = v - 0.5;
        var i = (int)Math.Floor(fu);
        var j = (int)Math.Floor(fv);
        var a = fu - i;
        var b = fv - j;
        var m00 = grid.Probability(i, j);
        var m10 = grid.Probability(i + 1, j);
        var m01 = grid.Probability(i, j + 1);
        var m11 = grid.Probability(i + 1, j + 1);
        var value = ((1 - b) * (((1 - a) * m00) + (a * m10))) + (b * (((1 - a) * m01) + (a * m11)));
        var du = ((1 - b) * (m10 - m00)) + (b * (m11 - m01));
        var dv = ((1 - a) * (m01 - m00)) + (a * (m11 - m10));
        return (value, du, dv);
    }

    // Σ (1 − M(Sᵢ))² plus the prior's pull, the quantity each step must lower.
    private static double Cost(OccupancyGrid grid, List<(double X, double Y)> hits, double x, double y, double theta, double priorWeight, double rotationWeight, double px, double py, double pt)
    {
        var (sin, cos) = Math.SinCos(theta);
        var sum = 0.0;
        foreach (var (sx, sy) in hits)
        {
            var r = 1 - Interpolate(grid, x + (cos * sx) - (sin * sy), y + (sin * sx) + (cos * sy)).Value;
            sum += r * r;
        }

        var dt = MapPose.Normalize(pt - theta);
        return sum + (priorWeight * (((px - x) * (px - x)) + ((py - y) * (py - y)))) + (rotationWeight * dt * dt);
    }

    // The symmetric 3 × 3 system H·s = g by Cramer's rule; false when H is singular (no grip at all).
    private static bool Solve(double h00, double h01, double h02, double h11, double h12, double h22, double g0, double g1, double g2, out double s0, out double s1, out double s2)
    {
        var c00 = (h11 * h22) - (h12 * h12);
        var c01 = (h02 * h12) - (h01 * h22);
        var c02 = (h01 * h12) - (h02 * h11);
        var det = (h00 * c00) + (h01 * c01) + (h02 * c02);
        if (Math.Abs(det) < 1e-12)
        {
            (s0, s1, s2) = (0, 0, 0);
            return false;
        }

        var c11 = (h00 * h22) - (h02 * h02);
        var c12 = (h01 * h02) - (h00 * h12);
        var c22 = (h00 * h11) - (h01 * h01);
        s0 = ((c00 * g0) + (c01 * g1) + (c02 * g2)) / det;
        s1 = ((c01 * g0) + (c11 * g1) + (c12 * g2)) / det;
        s2 = ((c02 * g0) + (c12 * g1) + (c22 * g2)) / det;
        return true;
    }
}
