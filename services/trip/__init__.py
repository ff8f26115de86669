"""The trip computer: distance travelled, integrated from vehicle speed."""
