using System.Numerics;

namespace Alex.Lab;

/// <summary>
/// Points on y² = x³ + ax + b over the integers mod a prime p, in affine coordinates (null is the point at
/// infinity). Slow and simple on purpose: it checks ECDSA signatures by hand in `alex lab cert`, and tests
/// compare it with the platform's ECDH.
/// </summary>
internal static class EllipticCurve
{
    /// <summary>k·P by double-and-add.</summary>
    public static (BigInteger X, BigInteger Y)? Multiply(BigInteger k, (BigInteger X, BigInteger Y) point, BigInteger a, BigInteger p)
    {
        (BigInteger X, BigInteger Y)? result = null;
        (BigInteger X, BigInteger Y)? addend = point;
        for (; !k.IsZero; k >>= 1)
        {
            if (!k.IsEven)
            {
                result = Add(result, addend, a, p);
            }

            addend = Add(addend, addend, a, p);
        }

        return result;
    }

    /// <summary>P + Q with the chord-and-tangent rule.</summary>
    public static (BigInteger X, BigInteger Y)? Add((BigInteger X, BigInteger Y)? first, (BigInteger X, BigInteger Y)? second, BigInteger a, BigInteger p)
    {
        if (first is not { } P1)
        {
            return second;
        }

        if (second is not { } P2)
        {
            return first;
        }

        BigInteger slope;
        if (P1.X == P2.X)
        {
            if (LabMath.Mod(P1.Y + P2.Y, p).IsZero)
            {
                return null;
            }

            slope = LabMath.Mod(((3 * P1.X * P1.X) + a) * LabMath.ModInverse(2 * P1.Y, p)!.Value, p);
        }
        else
        {
            slope = LabMath.Mod((P2.Y - P1.Y) * LabMath.ModInverse(P2.X - P1.X, p)!.Value, p);
        }

        var x3 = LabMath.Mod((slope * slope) - P1.X - P2.X, p);
        var y3 = LabMath.Mod((slope * (P1.X - x3)) - P1.Y, p);
        return (x3, y3);
    }
}
